"""The wire-free recognition core: Google's semantics over the engine, no transport inside."""
