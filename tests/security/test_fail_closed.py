"""If scanning fails, content leaves without the content: fail closed, never export unscanned text."""

from __future__ import annotations

import json

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from cylestio_monitor.security import Scanner, SecurityScanningSpanProcessor
from cylestio_monitor.security import _names as N

SECRET = "sk-proj-ocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXp"


def test_scan_failure_strips_content_and_says_so(monkeypatch):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SecurityScanningSpanProcessor(SimpleSpanProcessor(exporter)))

    def broken(self, text):
        raise RuntimeError("scanner bug")

    monkeypatch.setattr(Scanner, "scan", broken)
    messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": f"key {SECRET}"}]}])
    span = provider.get_tracer("t").start_span("chat gpt-4o")
    span.set_attribute("gen_ai.operation.name", "chat")
    span.set_attribute("gen_ai.input.messages", messages)
    span.add_event("gen_ai.user.message", {"content": f"key {SECRET}", "role": "user"})
    span.set_status(Status(StatusCode.ERROR, f"rejected key {SECRET}"))
    span.end()
    provider.shutdown()

    (out,) = exporter.get_finished_spans()
    assert out.attributes[N.SCAN_FAILED] is True
    assert "gen_ai.input.messages" not in out.attributes
    assert out.attributes["gen_ai.operation.name"] == "chat"
    assert SECRET not in repr(out.to_json())
    assert out.events[0].attributes == {"role": "user"}
    assert out.status.status_code is StatusCode.ERROR and not out.status.description


def test_error_description_is_redacted():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SecurityScanningSpanProcessor(SimpleSpanProcessor(exporter)))
    span = provider.get_tracer("t").start_span("chat gpt-4o")
    span.set_attribute("gen_ai.operation.name", "chat")
    span.set_attribute("gen_ai.input.messages", json.dumps([{"role": "user", "parts": []}]))
    span.set_status(Status(StatusCode.ERROR, f"Error code: 400 - invalid content near {SECRET}"))
    span.end()
    provider.shutdown()

    (out,) = exporter.get_finished_spans()
    assert SECRET not in out.status.description
    assert "[REDACTED:openai_api_key]" in out.status.description
    assert out.attributes[N.REDACTED_COUNT] == 1
