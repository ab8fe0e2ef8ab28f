"""Hark: a self-hosted speech-to-text server that speaks Google Cloud Speech-to-Text's API."""

__version__ = "0.1.0"
