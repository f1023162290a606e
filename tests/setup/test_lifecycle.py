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

    # The global provider can be set only once per process: the restart must export through it.
    start_monitoring("agent-1", exporter="file", log_file=str(log), security=False, metrics=False)
    _emit("after-restart")
    assert stop_monitoring() is True
    _emit("after-second-stop")  # nothing is running: dropped, not an error
    assert [s["name"] for s in _spans(log)] == ["first", "after-restart"]


def test_restart_with_another_agent_keeps_global_tracing(tmp_path: Path, client) -> None:
    first, second = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    start_monitoring("agent-1", exporter="file", log_file=str(first), security=False, metrics=False)
    stop_monitoring()
    start_monitoring("agent-2", exporter="file", log_file=str(second), security=False, metrics=False)
    _emit("app-span")
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert stop_monitoring() is True
    spans = {s["name"]: s for s in _spans(second)}
    assert set(spans) == {"app-span", "chat gpt-4o-mini"}
    # the instrumentation's spans carry the new run's resource; the global provider's cannot change
    assert spans["chat gpt-4o-mini"]["resource"]["attributes"]["gen_ai.agent.id"] == "agent-2"
    assert spans["app-span"]["resource"]["attributes"]["gen_ai.agent.id"] == "agent-1"
    assert _spans(first) == []


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


def test_restart_says_that_global_metrics_stay_on_the_first_provider(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    log = tmp_path / "telemetry.jsonl"
    start_monitoring("agent-1", exporter="file", log_file=str(log), security=False)
    stop_monitoring()
    with caplog.at_level(logging.INFO, logger="cylestio_monitor"):
        start_monitoring("agent-1", exporter="file", log_file=str(log), security=False)
    stop_monitoring()
    assert "the global one cannot be replaced" in caplog.text
