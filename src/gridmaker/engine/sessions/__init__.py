"""Sessions: what drives the orchestrator, trade by trade, until a run ends.

``market`` prints a simulated market's feed on the exchange before the bot hears of each
trade; ``live`` hears a real venue's streams (or REST polls) through ``gridmaker.feeds``;
``shadow`` runs both engines over one feed and compares what they did. Import the module you
need: the CLI loads only the session it runs.
"""
