"""The test receiver against the real OpenTelemetry SDK OTLP exporters (gRPC and HTTP)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.otlp_receiver import OTLPReceiver, otlp_receiver

__all__ = ["otlp_receiver"]  # the fixture, imported for pytest

TRANSPORTS = ["grpc", "http"]


def span_exporter(rx: OTLPReceiver, transport: str, **kw: Any) -> Any:
    if transport == "grpc":
        return GrpcSpanExporter(endpoint=rx.grpc_endpoint, insecure=True, **kw)
    return HttpSpanExporter(endpoint=rx.http_url("traces"), **kw)


def make_spans(provider: TracerProvider) -> None:
    tracer = provider.get_tracer("receiver-test", "1.2.3")
    with (
        tracer.start_as_current_span("parent", kind=SpanKind.SERVER),
        tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT) as child,
    ):
        child.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        child.set_attribute("gen_ai.usage.input_tokens", 12)
        child.set_attribute("gen_ai.request.temperature", 0.5)
        child.set_attribute("gen_ai.request.stream", False)
        child.set_attribute("gen_ai.response.finish_reasons", ["stop", "length"])
        child.add_event("cylestio.security.finding", {"rule_id": "openai-key", "severity": "high"})
        child.set_status(Status(StatusCode.ERROR, "boom"))


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("processor", ["batch", "simple"])
def test_spans_decoded(otlp_receiver: OTLPReceiver, transport: str, processor: str) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "rx-test"}))
    exporter = span_exporter(otlp_receiver, transport)
    proc = BatchSpanProcessor(exporter) if processor == "batch" else SimpleSpanProcessor(exporter)
    provider.add_span_processor(proc)
    make_spans(provider)
    provider.shutdown()

    spans = {s["name"]: s for s in otlp_receiver.wait_for_spans(2, timeout=10)}
    parent, child = spans["parent"], spans["chat gpt-4o-mini"]
    assert parent["parent"] is None and parent["kind"] == "SERVER"
    assert child["parent"] == parent["span_id"]
    assert child["trace_id"] == parent["trace_id"] and len(child["trace_id"]) == 32
    assert child["kind"] == "CLIENT"
    assert child["attributes"] == {
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.stream": False,
        "gen_ai.response.finish_reasons": ["stop", "length"],
    }
    assert [(e["name"], e["attributes"]) for e in child["events"]] == [
        ("cylestio.security.finding", {"rule_id": "openai-key", "severity": "high"})
    ]
    assert child["status"] == {"code": "ERROR", "message": "boom"}
    assert child["resource"]["service.name"] == "rx-test"
    assert child["scope"] == "receiver-test"
    assert {r.transport for r in otlp_receiver.requests("traces")} == {transport}


def test_http_gzip_body_is_decompressed(otlp_receiver: OTLPReceiver) -> None:
    provider = TracerProvider()
    exporter = HttpSpanExporter(endpoint=otlp_receiver.http_url("traces"), compression=Compression.Gzip)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("gz") as span:
        span.set_attribute("planted", "needle-" * 20)
    provider.shutdown()

    [req] = otlp_receiver.requests("traces")
    assert req.headers.get("content-encoding") == "gzip"
    assert req.wire[:2] == b"\x1f\x8b" and req.wire != req.body
    assert b"needle-needle-" in otlp_receiver.raw_bytes()
    assert b"needle-needle-" not in req.wire  # compressed on the wire: why raw_bytes() decompresses
    assert otlp_receiver.spans()[0]["attributes"]["planted"] == "needle-" * 20


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_raw_bytes_hold_what_was_sent(otlp_receiver: OTLPReceiver, transport: str) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter(otlp_receiver, transport)))
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("k", "sk-proj-PLANTEDsecretVALUE0123456789")
    provider.shutdown()
    raw = otlp_receiver.raw_bytes("traces")
    assert b"sk-proj-PLANTEDsecretVALUE0123456789" in raw
    assert b"never-sent-value" not in raw


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_metrics_decoded(otlp_receiver: OTLPReceiver, transport: str) -> None:
    exporter = (
        GrpcMetricExporter(endpoint=otlp_receiver.grpc_endpoint, insecure=True)
        if transport == "grpc"
        else HttpMetricExporter(endpoint=otlp_receiver.http_url("metrics"))
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("m")
    meter.create_counter("findings", unit="{finding}").add(3, {"category": "secret"})
    hist = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
    hist.record(0.25, {"gen_ai.operation.name": "chat"})
    hist.record(1.5, {"gen_ai.operation.name": "chat"})
    provider.shutdown()  # final collect + export

    points = otlp_receiver.wait_for_metric("gen_ai.client.operation.duration", timeout=10)
    [hp] = points
    assert hp["kind"] == "histogram" and hp["unit"] == "s"
    assert hp["count"] == 2 and hp["sum"] == pytest.approx(1.75)
    assert hp["min"] == 0.25 and hp["max"] == 1.5
    assert hp["attributes"] == {"gen_ai.operation.name": "chat"}
    assert sum(hp["bucket_counts"]) == 2
    [cp] = otlp_receiver.metrics()["findings"]
    assert cp["kind"] == "sum" and cp["value"] == 3 and cp["attributes"] == {"category": "secret"}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_logs_decoded(otlp_receiver: OTLPReceiver, transport: str) -> None:
    exporter = (
        GrpcLogExporter(endpoint=otlp_receiver.grpc_endpoint, insecure=True)
        if transport == "grpc"
        else HttpLogExporter(endpoint=otlp_receiver.http_url("logs"))
    )
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("l")
    logger.emit(body="hello", severity_text="WARN", attributes={"a": 1})  # type: ignore[call-arg]
    provider.shutdown()
    [rec] = otlp_receiver.wait_for_logs(1)
    assert rec["body"] == "hello" and rec["severity_text"] == "WARN" and rec["attributes"] == {"a": 1}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_outage_stop_then_start_same_port(transport: str) -> None:
    rx = OTLPReceiver().start()
    try:
        ports = (rx.grpc_port, rx.http_port)
        exporter = span_exporter(rx, transport, timeout=1)
        provider = TracerProvider()
        tracer = provider.get_tracer("t")
        rx.stop()
        assert not rx.running
        with tracer.start_as_current_span("lost") as lost:
            pass
        assert exporter.export([lost]) is SpanExportResult.FAILURE  # type: ignore[list-item]
        rx.start()
        assert (rx.grpc_port, rx.http_port) == ports
        with tracer.start_as_current_span("after") as after:
            pass
        # a gRPC channel that saw "connection refused" reconnects with backoff (~1 s): retry a while,
        # as the next batches of a BatchSpanProcessor would
        deadline = time.monotonic() + 15
        while exporter.export([after]) is not SpanExportResult.SUCCESS:  # type: ignore[list-item]
            assert time.monotonic() < deadline, "export never succeeded after restart"
        assert [s["name"] for s in rx.spans()] == ["after"]
        exporter.shutdown()
    finally:
        rx.stop()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unavailable_mode(otlp_receiver: OTLPReceiver, transport: str) -> None:
    exporter = span_exporter(otlp_receiver, transport, timeout=1)
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("refused") as refused:
        pass
    otlp_receiver.unavailable = True
    assert exporter.export([refused]) is SpanExportResult.FAILURE  # type: ignore[list-item]
    assert otlp_receiver.rejected >= 1 and otlp_receiver.spans() == []
    otlp_receiver.unavailable = False
    assert exporter.export([refused]) is SpanExportResult.SUCCESS  # type: ignore[list-item]
    assert [s["name"] for s in otlp_receiver.spans()] == ["refused"]
    exporter.shutdown()


def _post(url: str, body: bytes, ctype: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_http_json_and_errors(otlp_receiver: OTLPReceiver) -> None:
    payload = {"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
        "name": "json-span", "kind": 3,
        "attributes": [{"key": "x", "value": {"intValue": "7"}}],
    }]}]}]}
    code, _ = _post(otlp_receiver.http_url("traces"), json.dumps(payload).encode(), "application/json")
    assert code == 200
    [span] = otlp_receiver.spans()
    assert span["name"] == "json-span" and span["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert span["attributes"] == {"x": 7} and span["kind"] == "CLIENT"

    assert _post(otlp_receiver.http_endpoint + "/v1/nothing", b"", "application/x-protobuf")[0] == 404
    assert _post(otlp_receiver.http_url("traces"), b"\xff\xff\xff", "application/x-protobuf")[0] == 400
    assert len(otlp_receiver.requests()) == 1


def test_wait_for_spans_times_out_with_count(otlp_receiver: OTLPReceiver) -> None:
    with pytest.raises(AssertionError, match="1 span"):
        otlp_receiver.wait_for_spans(1, timeout=0.3)
