"""Streaming recognition: the sans-IO policy, its types, and the session that drives it."""
