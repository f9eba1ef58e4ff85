"""Operating a running bot: what observes it (metrics, alerts, the watchdog, the live view)
and how an operator reads and steers it (the control API). Nothing here writes a book."""
