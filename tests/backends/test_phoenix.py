"""End to end against real backends: spans sent with the SDK's OTLP exporters (HTTP and gRPC) to
a real Arize Phoenix are read back from its REST API (``GET /v1/projects/{name}/spans``); an
instrumented openai call replayed from a cassette reaches Phoenix and the in-process receiver."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from cylestio_monitor.instrumentation import OpenAIInstrumentor
from tests import mock_openai, replay
from tests.backends.phoenix import PROJECT_ATTRIBUTE, PhoenixServer
from tests.cassettes import Interaction, interactions
from tests.otlp_receiver import OTLPReceiver


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
        span.set_attribute("cylestio.security.findings.highest_severity", "critical")
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
    assert chat["attributes"]["cylestio.security.findings.highest_severity"] == "critical"
    assert chat["status_code"] == "ERROR" and chat["status_message"] == "blocked"
    [event] = chat["events"]
    assert event["name"] == "cylestio.security.finding"
    assert event["attributes"]["rule_id"] == "openai-api-key"
    assert event["attributes"]["masked"] == "sk-p...9XyZ"


def first_plain_chat() -> Interaction:
    return next(
        i for i in interactions("/chat/completions")
        if i.status == 200 and not i.is_sse and isinstance(i.request.get("messages"), list)
    )


def replay_chat(item: Interaction, provider: TracerProvider) -> None:
    """One recorded chat call through the real openai client, instrumented with content on.
    Spans are flushed after the cassette context (vcrpy would intercept the OTLP/HTTP export)."""
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider, capture_content="SPAN_ONLY")
    try:
        client = replay.client(item, is_async=False)
        known, extra = replay.split_kwargs(client.chat.completions.create, item.request)
        with replay.use(item):
            client.chat.completions.create(**known, extra_body=extra or None)
    finally:
        instrumentor.uninstrument()
    provider.force_flush()


def test_instrumented_openai_call_reaches_phoenix(phoenix: PhoenixServer) -> None:
    item = first_plain_chat()
    project = f"cylestio-openai-{uuid.uuid4().hex[:8]}"
    provider = provider_for(phoenix, project, "http")
    replay_chat(item, provider)
    provider.shutdown()

    [span] = phoenix.wait_for_spans(project, 1)
    model = item.request["model"]
    body = item.json()
    assert span["name"] == f"chat {model}"
    attrs = span["attributes"]
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == model
    assert attrs["gen_ai.response.id"] == body["id"]
    assert attrs["gen_ai.usage.input_tokens"] == body["usage"]["prompt_tokens"]
    messages = json.loads(attrs["gen_ai.input.messages"])
    assert messages[-1]["parts"][0]["content"] == item.request["messages"][-1]["content"]


def test_instrumented_openai_call_over_otlp_receiver(otlp_receiver: OTLPReceiver) -> None:
    """The same call with content capture off: the GenAI span arrives over gRPC and the prompt
    text is nowhere in the bytes that crossed the wire."""
    item = first_plain_chat()
    provider = TracerProvider()
    provider.add_span_processor(
        BatchSpanProcessor(GrpcSpanExporter(endpoint=otlp_receiver.grpc_endpoint, insecure=True))
    )
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider, capture_content="NO_CONTENT")
    try:
        client = replay.client(item, is_async=False)
        known, extra = replay.split_kwargs(client.chat.completions.create, item.request)
        with replay.use(item):
            client.chat.completions.create(**known, extra_body=extra or None)
    finally:
        instrumentor.uninstrument()
    provider.shutdown()

    [span] = otlp_receiver.wait_for_spans(1)
    assert span["name"] == f"chat {item.request['model']}" and span["kind"] == "CLIENT"
    assert span["attributes"]["gen_ai.response.id"] == item.json()["id"]
    prompt = item.request["messages"][-1]["content"]
    assert prompt.encode() not in otlp_receiver.raw_bytes()
    assert item.request["model"].encode() in otlp_receiver.raw_bytes()


PLANTED = "sk-proj-Xq7Lm2Pz9Rt4Vb8Nc1Kd6Wf3Hj5Gs0Ya2Ue"  # fake key in the prompt


def call_with_planted_key(provider: TracerProvider, export_processor: Any) -> None:
    """A real openai client (mock transport answering with a recorded body) instrumented with
    content on, the security processor in front of ``export_processor``; the prompt carries a key."""
    security = pytest.importorskip(
        "cylestio_monitor.security.processor", reason="the security processor has not landed yet"
    )
    provider.add_span_processor(security.SecurityScanningSpanProcessor(export_processor))
    item = first_plain_chat()
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider, capture_content="SPAN_ONLY")
    try:
        client = mock_openai.client(mock_openai.responder(item.body))
        client.chat.completions.create(
            model=item.request["model"],
            messages=[{"role": "user", "content": f"Deploy with key {PLANTED} please."}],
        )
    finally:
        instrumentor.uninstrument()
    provider.shutdown()


def test_security_finding_reaches_phoenix_redacted(phoenix: PhoenixServer) -> None:
    project = f"cylestio-security-{uuid.uuid4().hex[:8]}"
    provider = TracerProvider(resource=Resource.create({PROJECT_ATTRIBUTE: project}))
    call_with_planted_key(provider, BatchSpanProcessor(HttpSpanExporter(endpoint=phoenix.traces_url)))

    [span] = phoenix.wait_for_spans(project, 1)
    attrs = span["attributes"]
    assert span["name"].startswith("chat ")
    assert attrs["cylestio.security.findings.count"] >= 1
    assert attrs["cylestio.security.findings.highest_severity"] == "critical"
    findings = [e for e in span["events"] if e["name"] == "cylestio.security.finding"]
    assert any(e["attributes"]["cylestio.security.rule_id"] == "openai-project-key" for e in findings)
    assert "Deploy with key" in attrs["gen_ai.input.messages"]  # content kept, key redacted
    assert PLANTED not in json.dumps(span)


def test_security_finding_over_the_wire_never_carries_the_key(otlp_receiver: OTLPReceiver) -> None:
    provider = TracerProvider()
    exporter = GrpcSpanExporter(endpoint=otlp_receiver.grpc_endpoint, insecure=True)
    call_with_planted_key(provider, BatchSpanProcessor(exporter))

    [span] = otlp_receiver.wait_for_spans(1)
    assert span["attributes"]["cylestio.security.findings.count"] >= 1
    assert b"Deploy with key" in otlp_receiver.raw_bytes()  # the prompt went out...
    assert PLANTED.encode() not in otlp_receiver.raw_bytes()  # ...without the key
    assert PLANTED[8:].encode() not in otlp_receiver.raw_bytes()
