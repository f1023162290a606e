"""Fixtures for the real-backend tests.

- ``otlp_receiver``: the in-process OTLP receiver (tests/otlp_receiver.py).
- ``phoenix``: one real Arize Phoenix server for the session (tests/backends/phoenix.py), from
  the separate virtualenv named by ``CYLESTIO_PHOENIX_BIN`` (``.ci/run`` sets it); skipped
  with a reason when the variable is unset.
"""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from tests.backends.phoenix import PhoenixServer
from tests.otlp_receiver import otlp_receiver

__all__ = ["otlp_receiver", "phoenix"]


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoenixServer]:
    phoenix_bin = os.environ.get("CYLESTIO_PHOENIX_BIN")
    if not phoenix_bin:
        pytest.skip(
            "CYLESTIO_PHOENIX_BIN is not set: install arize-phoenix in its own venv "
            "(.ci/run does: python3 -m venv .venv-phoenix && .venv-phoenix/bin/pip install arize-phoenix) "
            "and export CYLESTIO_PHOENIX_BIN=$PWD/.venv-phoenix/bin/phoenix"
        )
    if not os.access(phoenix_bin, os.X_OK):
        pytest.fail(f"CYLESTIO_PHOENIX_BIN={phoenix_bin!r} is not an executable")
    server = PhoenixServer(phoenix_bin, tmp_path_factory.mktemp("phoenix"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
