"""start_monitoring / stop_monitoring lifecycle: restart, double stop, bounded flush, logging, network."""

from __future__ import annotations

import json
import logging
import socket
import time
from pathlib import Path
from typing import Iterator, List

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from cylestio_monitor import start_monitoring, stop_monitoring
from cylestio_monitor.config import ConfigError


def _spans(path: Path) -> List[dict]:
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["type"] == "span"]


def _emit(name: str) -> None:
    with trace.get_tracer("test").start_as_current_span(name):
        pass


def test_stop_without_start_and_twice() -> None:
    assert stop_monitoring() is True
    assert stop_monitoring() is True


def test_start_stop_twice_exports_each_run(tmp_path: Path) -> None:
    log = tmp_path / "spans.jsonl"
    start_monitoring("agent-1", exporter="file", log_file=str(log), security=False, metrics=False)
    _emit("first")
    assert stop_monitoring() is True
    assert stop_monitoring() is True
    assert [s["name"] for s in _spans(log)] == ["first"]
    first = _spans(log)[0]
    assert first["resource"]["attributes"]["service.name"] == "agent-1"
    assert first["resource"]["attributes"]["gen_ai.agent.id"] == "agent-1"

    start_monitoring("agent-1", exporter="file", log_file=str(log), security=False, metrics=False)
    _emit("ignored-after-restart")  # the global provider of run 1 is shut down: dropped, not an error
    assert stop_monitoring() is True
    assert [s["name"] for s in _spans(log)] == ["first"]


def test_invalid_setting_raises_before_anything_starts() -> None:
    with pytest.raises(ConfigError):
        start_monitoring("a", exporter="carrier-pigeon")
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A TCP port that accepts connections (kernel backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_flush_is_bounded_with_unresponsive_endpoint(black_hole: str, protocol: str) -> None:
    start_monitoring("a", endpoint=black_hole, protocol=protocol, export_timeout=30, flush_timeout=1,
                     security=False, metrics=False)
    _emit("stuck")
    began = time.monotonic()
    done = stop_monitoring()
    elapsed = time.monotonic() - began
    assert done is False
    assert elapsed < 2.5
    assert stop_monitoring() is True  # second call: nothing left to do


def test_host_logging_is_left_alone(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before = (root.level, list(root.handlers), logging.getLogger("openai").level)
    ours = logging.getLogger("cylestio_monitor")
    ours_before = (ours.level, list(ours.handlers))
    start_monitoring("a", debug_level="DEBUG", exporter="none", security=False)
    assert (root.level, list(root.handlers), logging.getLogger("openai").level) == before
    assert ours.level == logging.DEBUG
    stop_monitoring()
    assert (root.level, list(root.handlers)) == before[:2]
    assert (ours.level, list(ours.handlers)) == ours_before


def test_default_sends_nothing_over_the_network(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    connections: list = []
    real_connect = socket.socket.connect

    def recording_connect(self: socket.socket, address: object) -> None:
        connections.append(address)
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", lambda self, address: connections.append(address) or 111)
    start_monitoring("offline-agent", security=False)
    _emit("local-only")
    assert stop_monitoring() is True
    assert connections == []
    err = capsys.readouterr().err
    assert "[cylestio] span 'local-only'" in err
    assert "service.name" not in err  # resource is not repeated per span
