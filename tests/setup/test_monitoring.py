"""start_monitoring with the real openai client: providers built or joined, env config, content switch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cylestio_monitor import start_monitoring, stop_monitoring

from .conftest import EXAMPLES

MESSAGES = [{"role": "user", "content": "Say hi"}]


def _rows(path: Path, kind: str) -> List[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["type"] == kind]


def test_builds_providers_with_agent_resource(client, tmp_path: Path) -> None:
    log = tmp_path / "out.jsonl"
    start_monitoring("billing-agent", exporter="file", log_file=str(log), security=False)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert stop_monitoring() is True
    (span,) = _rows(log, "span")
    assert span["name"] == "chat gpt-4o-mini"
    assert span["kind"] == "SpanKind.CLIENT"
    assert span["attributes"]["gen_ai.operation.name"] == "chat"
    assert span["resource"]["attributes"]["service.name"] == "billing-agent"
    assert span["resource"]["attributes"]["gen_ai.agent.id"] == "billing-agent"
    names = {m["name"] for m in _rows(log, "metric")}
    assert {"gen_ai.client.operation.duration", "gen_ai.client.token.usage"} <= names


def test_stop_uninstruments(client, tmp_path: Path) -> None:
    log = tmp_path / "out.jsonl"
    start_monitoring("a", exporter="file", log_file=str(log), security=False, metrics=False)
    stop_monitoring()
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert not log.exists() or _rows(log, "span") == []


def test_joins_the_applications_providers(client, tmp_path: Path) -> None:
    host_spans = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "host-app"}))
    provider.add_span_processor(SimpleSpanProcessor(host_spans))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    log = tmp_path / "ours.jsonl"

    start_monitoring("joined-agent", exporter="file", log_file=str(log), security=False)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert stop_monitoring() is True

    assert trace.get_tracer_provider() is provider
    (host_span,) = host_spans.get_finished_spans()
    assert host_span.name == "chat gpt-4o-mini"
    assert host_span.resource.attributes["service.name"] == "host-app"
    assert host_span.attributes["gen_ai.agent.id"] == "joined-agent"
    # the host's own exporter is not behind our scanner, so content stays off by default here
    assert "gen_ai.input.messages" not in host_span.attributes
    assert [s["name"] for s in _rows(log, "span")] == ["chat gpt-4o-mini"]
    data = reader.get_metrics_data()
    names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert "gen_ai.client.operation.duration" in names
    # the host's provider is left running
    with provider.get_tracer("host").start_as_current_span("after-stop"):
        pass
    assert host_spans.get_finished_spans()[-1].name == "after-stop"


def test_configured_from_environment(client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "env.jsonl"
    monkeypatch.setenv("CYLESTIO_EXPORTER", "file")
    monkeypatch.setenv("CYLESTIO_LOG_FILE", str(log))
    monkeypatch.setenv("CYLESTIO_SECURITY", "false")
    monkeypatch.setenv("CYLESTIO_CAPTURE_CONTENT", "true")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "svc-from-env")
    start_monitoring("env-agent")
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    stop_monitoring()
    (span,) = _rows(log, "span")
    assert span["resource"]["attributes"]["service.name"] == "svc-from-env"
    assert span["resource"]["attributes"]["gen_ai.agent.id"] == "env-agent"
    assert "Say hi" in span["attributes"]["gen_ai.input.messages"]


@pytest.mark.parametrize(("capture", "recorded"), [(True, True), (False, False), ("NO_CONTENT", False)])
def test_content_capture_is_switchable(client, tmp_path: Path, capture, recorded: bool) -> None:
    log = tmp_path / "c.jsonl"
    start_monitoring("a", exporter="file", log_file=str(log), capture_content=capture, security=False)
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    stop_monitoring()
    (span,) = _rows(log, "span")
    assert ("gen_ai.input.messages" in span["attributes"]) is recorded
    assert ("gen_ai.output.messages" in span["attributes"]) is recorded


def test_openai_imported_after_start(openai_base_url: str, tmp_path: Path) -> None:
    log = tmp_path / "late.jsonl"
    script = textwrap.dedent(f"""
        import sys
        from cylestio_monitor import start_monitoring, stop_monitoring
        assert "openai" not in sys.modules
        start_monitoring("late-import", exporter="file", log_file={str(log)!r}, security=False)
        import openai
        c = openai.OpenAI(base_url={openai_base_url!r}, api_key="k", max_retries=0)
        c.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "x"}}])
        stop_monitoring()
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "CYLESTIO_"))}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=EXAMPLES, timeout=60)
    assert [s["name"] for s in _rows(log, "span")] == ["chat gpt-4o-mini"]
