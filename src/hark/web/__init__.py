"""Browser-facing transports (WebSocket streaming)."""
