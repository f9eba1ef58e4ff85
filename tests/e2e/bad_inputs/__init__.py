"""The bad-input suite: every plausible user mistake gets a clear answer and changes nothing."""
