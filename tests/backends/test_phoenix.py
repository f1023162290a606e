"""End to end against a real Arize Phoenix: spans sent with the SDK's OTLP exporters (HTTP and
gRPC) are read back from Phoenix's REST API (``GET /v1/projects/{name}/spans``)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.backends.phoenix import PROJECT_ATTRIBUTE, PhoenixServer


def provider_for(phoenix: PhoenixServer, project: str, transport: str) -> TracerProvider:
    resource = Resource.create({"service.name": "cylestio-phoenix-test", PROJECT_ATTRIBUTE: project})
    provider = TracerProvider(resource=resource)
    exporter: Any = (
        HttpSpanExporter(endpoint=phoenix.traces_url)
        if transport == "http"
        else GrpcSpanExporter(endpoint=phoenix.grpc_endpoint, insecure=True)
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_sdk_spans_reach_phoenix(phoenix: PhoenixServer, transport: str) -> None:
    project = f"cylestio-{transport}-{uuid.uuid4().hex[:8]}"
    provider = provider_for(phoenix, project, transport)
    tracer = provider.get_tracer("cylestio-phoenix-test")
    with tracer.start_as_current_span("agent run", kind=SpanKind.INTERNAL) as root, tracer.start_as_current_span(
        "chat gpt-4o-mini", kind=SpanKind.CLIENT
    ) as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("gen_ai.usage.input_tokens", 21)
        span.set_attribute("cylestio.security.findings.count", 1)
        span.set_attribute("cylestio.security.max_severity", "high")
        span.add_event(
            "cylestio.security.finding",
            {"category": "secret", "rule_id": "openai-api-key", "severity": "high", "masked": "sk-p...9XyZ"},
        )
        span.set_status(Status(StatusCode.ERROR, "blocked"))
    provider.shutdown()

    spans = {s["name"]: s for s in phoenix.wait_for_spans(project, 2)}
    assert set(spans) == {"agent run", "chat gpt-4o-mini"}
    chat, run = spans["chat gpt-4o-mini"], spans["agent run"]
    assert chat["context"]["trace_id"] == format(root.get_span_context().trace_id, "032x")
    assert chat["parent_id"] == run["context"]["span_id"]
    assert chat["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
    assert chat["attributes"]["gen_ai.usage.input_tokens"] == 21
    assert chat["attributes"]["cylestio.security.findings.count"] == 1
    assert chat["attributes"]["cylestio.security.max_severity"] == "high"
    assert chat["status_code"] == "ERROR" and chat["status_message"] == "blocked"
    [event] = chat["events"]
    assert event["name"] == "cylestio.security.finding"
    assert event["attributes"]["rule_id"] == "openai-api-key"
    assert event["attributes"]["masked"] == "sk-p...9XyZ"
