"""Fixtures for the real-backend tests: the in-process OTLP receiver (see tests/otlp_receiver.py)."""

from tests.otlp_receiver import otlp_receiver

__all__ = ["otlp_receiver"]
