"""End to end: planted secrets in every place a conversation carries text, exported over real
OTLP (gRPC and HTTP) to a receiver the test starts. The received bytes never contain a planted
secret, with content capture on and off, and the findings are there in both cases."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from cylestio_monitor import SecurityScanningSpanProcessor
from cylestio_monitor.instrumentation import OpenAIInstrumentor
from tests import mock_openai
from tests.cassettes import ROOT, load
from tests.otlp_receiver import OTLPReceiver

# Random credentials in each provider's format (never issued), one per place.
SYSTEM_KEY = "sk-proj-ocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXp"
USER_KEY = "AKIAZ7QXJ4MPLW2RT5NV"
TOOL_ARGS_KEY = "ghp_fKtHF4vUCsMehGAkWvj7FAc9QeWJKY40uvSw"
TOOL_RESULT_KEY = "xoxb-2048913756-4096827351-Qw7Er9Ty2Ui4Op6As8Df0Gh"
ASSISTANT_KEY = "sk_live_MFLZDe1f8rESQedUStPKR0CsTy4Qwb8D"
STREAMED_KEY = "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"
PLANTED = [SYSTEM_KEY, USER_KEY, TOOL_ARGS_KEY, TOOL_RESULT_KEY, ASSISTANT_KEY, STREAMED_KEY]

MESSAGES: List[Dict[str, Any]] = [
    {"role": "system", "content": f"You deploy services. Internal key: {SYSTEM_KEY}"},
    {"role": "user", "content": f"Use my AWS key {USER_KEY} and tell me what you did."},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "deploy", "arguments": json.dumps({"token": TOOL_ARGS_KEY})}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": f"deployed; slack bot token {TOOL_RESULT_KEY}"},
    {"role": "assistant", "content": f"Done. For billing I used {ASSISTANT_KEY}."},
    {"role": "user", "content": "Summarise."},
]

NONSTREAM = load(ROOT / "otel-contrib/test_chat_completion_with_content.yaml")[0]
STREAM = load(ROOT / "otel-contrib/test_chat_completion_streaming.yaml")[0]


def streamed_body_with_secret() -> bytes:
    """The recorded stream, with the secret split across two content deltas."""
    chunks = STREAM.events()
    lines = []
    planted = False
    for chunk in chunks:
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if not planted and delta.get("content"):
                head, tail = f"your token is {STREAMED_KEY[:9]}", STREAMED_KEY[9:] + " ok"
                first = dict(chunk, choices=[dict(choice, delta=dict(delta, content=head))])
                second = dict(chunk, choices=[dict(choice, delta=dict(delta, content=tail))])
                lines += [f"data: {json.dumps(first)}", f"data: {json.dumps(second)}"]
                planted = True
                break
        else:
            lines.append(f"data: {json.dumps(chunk)}")
    assert planted
    return ("\n\n".join([*lines, "data: [DONE]"]) + "\n\n").encode()


@pytest.fixture
def receiver():
    with OTLPReceiver() as rx:
        yield rx


@pytest.mark.parametrize("transport", ["grpc", "http"])
@pytest.mark.parametrize("capture_content", ["SPAN_ONLY", "NO_CONTENT"])
def test_planted_secrets_never_reach_the_wire(receiver: OTLPReceiver, transport: str, capture_content: str):
    exporter: Any = (
        GrpcSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True)
        if transport == "grpc"
        else HttpSpanExporter(endpoint=receiver.http_url("traces"))
    )
    provider = TracerProvider()
    meter_provider = MeterProvider()
    processor = SecurityScanningSpanProcessor(BatchSpanProcessor(exporter), meter_provider=meter_provider)
    provider.add_span_processor(processor)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider, meter_provider=meter_provider,
                            capture_content=capture_content)
    try:
        client = mock_openai.client(mock_openai.responder(NONSTREAM.body))
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                       tools=[{"type": "function", "function": {"name": "deploy",
                                                                                "parameters": {"type": "object"}}}])
        streaming = mock_openai.client(mock_openai.responder(streamed_body_with_secret()))
        text = "".join(c.choices[0].delta.content or "" for c in streaming.chat.completions.create(
            model="gpt-4", messages=[{"role": "user", "content": "token?"}], stream=True) if c.choices)
        assert STREAMED_KEY in text  # the user gets the answer untouched
    finally:
        instrumentor.uninstrument()
        provider.shutdown()

    spans = receiver.wait_for_spans(2)
    wire = receiver.raw_bytes()
    for secret in PLANTED:
        assert secret.encode() not in wire, secret
        # nor any long piece of it (e.g. an unmasked prefix)
        assert secret[4:20].encode() not in wire, secret

    by_model = {s["attributes"]["gen_ai.request.model"]: s for s in spans}
    chat, stream = by_model["gpt-4o-mini"], by_model["gpt-4"]
    findings = [e["attributes"] for e in chat["events"] if e["name"] == "cylestio.security.finding"]
    where = {(f["cylestio.security.location"], f["cylestio.security.type"]) for f in findings}
    assert {loc for loc, _ in where} >= {"input"}
    assert len(findings) >= 5, findings  # system, user, tool args, tool result, assistant
    assert chat["attributes"]["cylestio.security.findings.count"] == len(findings)
    assert chat["attributes"]["cylestio.security.findings.highest_severity"] in ("high", "critical")
    stream_findings = [e["attributes"] for e in stream["events"] if e["name"] == "cylestio.security.finding"]
    assert [f["cylestio.security.location"] for f in stream_findings] == ["output"]

    if capture_content == "SPAN_ONLY":
        sent = chat["attributes"]["gen_ai.input.messages"]
        assert "[REDACTED:" in sent
        assert json.loads(sent)[0]["role"] == "system"  # still valid JSON
        assert "[REDACTED:" in stream["attributes"]["gen_ai.output.messages"]
    else:
        for span in spans:
            assert "gen_ai.input.messages" not in span["attributes"]
            assert "gen_ai.output.messages" not in span["attributes"]
