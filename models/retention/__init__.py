"""Retention: purging what the configured periods no longer require to be kept. A process over
the other aggregates, with rules and use cases of its own and no table."""
