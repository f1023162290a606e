"""A real OTLP receiver for tests: OTLP/gRPC and OTLP/HTTP (protobuf or JSON) on 127.0.0.1.

It decodes what the SDK's own OTLP exporters send, keeps the payload bytes as they
arrived (so a test can assert that a secret never went over the wire), and can
simulate an outage.

Usage::

    from tests.otlp_receiver import OTLPReceiver

    with OTLPReceiver() as rx:                       # start(); stop() on exit
        OTLPSpanExporter(endpoint=rx.grpc_endpoint, insecure=True)      # grpc exporter
        OTLPSpanExporter(endpoint=rx.http_url("traces"))                # http exporter
        ...
        spans = rx.wait_for_spans(1, timeout=5)      # list of plain dicts, see `span_to_dict`
        assert b"sk-proj-" not in rx.raw_bytes()

Or as a pytest fixture: ``from tests.otlp_receiver import otlp_receiver`` in a test
module or conftest (``tests/backends/conftest.py`` does this), then take ``otlp_receiver``
as an argument.

Outage: ``rx.stop(); ...; rx.start()`` re-binds the same ports;
``rx.unavailable = True`` answers every export with gRPC UNAVAILABLE / HTTP 503
(counted in ``rx.rejected``) until set back to False.
"""

from __future__ import annotations

import base64
import gzip
import http.server
import json
import threading
import time
import zlib
from concurrent import futures
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

__all__ = ["OTLPReceiver", "Received", "any_value", "otlp_receiver", "span_to_dict"]

# signal -> (request type, response type, gRPC full service name). The gRPC side registers a generic
# handler for each service's Export method (the same names as the generated *ServiceServicer stubs)
# with no request deserializer, so the payload bytes are kept exactly as received.
_SIGNALS: dict[str, tuple[type[Message], type[Message], str]] = {
    "traces": (
        trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
        trace_service_pb2.DESCRIPTOR.services_by_name["TraceService"].full_name,
    ),
    "metrics": (
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
        metrics_service_pb2.DESCRIPTOR.services_by_name["MetricsService"].full_name,
    ),
    "logs": (
        logs_service_pb2.ExportLogsServiceRequest,
        logs_service_pb2.ExportLogsServiceResponse,
        logs_service_pb2.DESCRIPTOR.services_by_name["LogsService"].full_name,
    ),
}

_SPAN_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUS_CODES = {0: "UNSET", 1: "OK", 2: "ERROR"}


@dataclass
class Received:
    """One export request as it arrived."""

    signal: str  # "traces" | "metrics" | "logs"
    transport: str  # "grpc" | "http"
    body: bytes  # serialized payload after transport decompression (protobuf, or JSON for http+json)
    wire: bytes  # bytes as received (gzip-compressed when the exporter compressed; == body for grpc)
    message: Message  # decoded Export*ServiceRequest
    headers: dict[str, str]


def any_value(v: common_pb2.AnyValue) -> Any:
    """An OTLP AnyValue as a Python value (arrays as lists, kvlists as dicts)."""
    which = v.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, which)


def _attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in kvs}


def span_to_dict(span: Any, resource: dict[str, Any], scope: str) -> dict[str, Any]:
    """A decoded OTLP span as a plain dict (ids as lowercase hex, parent None for a root span)."""
    return {
        "name": span.name,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent": span.parent_span_id.hex() or None,
        "kind": _SPAN_KINDS.get(span.kind, str(span.kind)),
        "start_ns": span.start_time_unix_nano,
        "end_ns": span.end_time_unix_nano,
        "attributes": _attrs(span.attributes),
        "events": [
            {"name": e.name, "time_ns": e.time_unix_nano, "attributes": _attrs(e.attributes)}
            for e in span.events
        ],
        "links": [
            {"trace_id": lk.trace_id.hex(), "span_id": lk.span_id.hex(), "attributes": _attrs(lk.attributes)}
            for lk in span.links
        ],
        "status": {"code": _STATUS_CODES.get(span.status.code, str(span.status.code)),
                   "message": span.status.message},
        "resource": resource,
        "scope": scope,
    }


def _number(dp: Any) -> Any:
    which = dp.WhichOneof("value")
    return getattr(dp, which) if which else None


def _datapoints(metric: Any) -> Iterator[dict[str, Any]]:
    kind = metric.WhichOneof("data")
    if kind is None:
        return
    data = getattr(metric, kind)
    for dp in data.data_points:
        out: dict[str, Any] = {"kind": kind, "unit": metric.unit, "attributes": _attrs(dp.attributes),
                               "time_ns": dp.time_unix_nano}
        if kind in ("sum", "gauge"):
            out["value"] = _number(dp)
        elif kind == "histogram":
            out.update(count=dp.count, sum=dp.sum, bucket_counts=list(dp.bucket_counts),
                       explicit_bounds=list(dp.explicit_bounds),
                       min=dp.min if dp.HasField("min") else None,
                       max=dp.max if dp.HasField("max") else None)
        else:  # exponential_histogram, summary: count and sum are enough for our tests
            out.update(count=dp.count, sum=dp.sum)
        yield out


_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _hex_ids_to_base64(node: Any) -> None:
    # OTLP/JSON writes trace and span ids as hex, where protobuf's JSON mapping expects base64.
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = base64.b64encode(bytes.fromhex(value)).decode()
            else:
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)


def _parse_otlp_json(body: bytes, req_type: type[Message]) -> Message:
    doc = json.loads(body)
    _hex_ids_to_base64(doc)
    return json_format.ParseDict(doc, req_type())


class _HTTPHandler(http.server.BaseHTTPRequestHandler):
    receiver: OTLPReceiver  # set on the per-receiver subclass
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _reply(self, code: int, body: bytes = b"", ctype: str = "application/x-protobuf") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        signal = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        wire = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.path.startswith("/v1/") or signal not in _SIGNALS:
            self._reply(404, b"not found", "text/plain")
            return
        rx = self.receiver
        if rx.unavailable:
            rx._reject()
            self._reply(503, b"unavailable (simulated)", "text/plain")
            return
        encoding = (self.headers.get("Content-Encoding") or "").lower()
        try:
            body = gzip.decompress(wire) if encoding == "gzip" else (
                zlib.decompress(wire) if encoding == "deflate" else wire)
            req_type, resp_type, _ = _SIGNALS[signal]
            is_json = (self.headers.get("Content-Type") or "").startswith("application/json")
            msg = _parse_otlp_json(body, req_type) if is_json else req_type.FromString(body)
        except (OSError, ValueError, zlib.error, DecodeError, json_format.ParseError) as exc:
            self._reply(400, f"bad request: {exc}".encode(), "text/plain")
            return
        rx._record(Received(signal, "http", body, wire, msg, {k.lower(): v for k, v in self.headers.items()}))
        if is_json:
            self._reply(200, json_format.MessageToJson(resp_type()).encode(), "application/json")
        else:
            self._reply(200, resp_type().SerializeToString())


class OTLPReceiver:
    """OTLP/gRPC + OTLP/HTTP receiver bound to 127.0.0.1 (free ports unless given)."""

    def __init__(self, host: str = "127.0.0.1", grpc_port: int = 0, http_port: int = 0) -> None:
        self.host = host
        self.grpc_port = grpc_port
        self.http_port = http_port
        self.unavailable = False  # when True: gRPC UNAVAILABLE / HTTP 503, nothing recorded
        self.rejected = 0  # exports refused while unavailable
        self.received: list[Received] = []
        self._cond = threading.Condition()
        self._grpc: Optional[grpc.Server] = None
        self._http: Optional[http.server.ThreadingHTTPServer] = None
        self._http_thread: Optional[threading.Thread] = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> OTLPReceiver:
        """Start both servers; after a stop() they come back on the same ports."""
        if self._grpc is not None:
            return self
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        for signal, (req_type, resp_type, service) in _SIGNALS.items():
            method = grpc.unary_unary_rpc_method_handler(
                self._grpc_export(signal, req_type, resp_type),
                request_deserializer=None,  # keep the bytes; decode ourselves
                response_serializer=resp_type.SerializeToString,
            )
            generic = grpc.method_handlers_generic_handler(service, {"Export": method})
            server.add_generic_rpc_handlers((generic,))
        port = server.add_insecure_port(f"{self.host}:{self.grpc_port}")
        if port == 0:
            raise OSError(f"OTLP receiver: cannot bind gRPC on {self.host}:{self.grpc_port}")
        self.grpc_port = port
        server.start()
        self._grpc = server

        handler = type("Handler", (_HTTPHandler,), {"receiver": self})
        httpd = http.server.ThreadingHTTPServer((self.host, self.http_port), handler)
        httpd.daemon_threads = True
        self.http_port = httpd.server_address[1]
        self._http = httpd
        self._http_thread = threading.Thread(target=httpd.serve_forever, name="otlp-http", daemon=True)
        self._http_thread.start()
        return self

    def stop(self) -> None:
        """Stop both servers (connections are refused until start() again). Data is kept."""
        if self._grpc is not None:
            self._grpc.stop(grace=None).wait(5)
            self._grpc = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
            if self._http_thread is not None:
                self._http_thread.join(5)

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._grpc is not None

    # -- endpoints -------------------------------------------------------------------------------

    @property
    def grpc_endpoint(self) -> str:
        """For the gRPC exporters (with ``insecure=True``): ``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """Base URL, as for ``OTEL_EXPORTER_OTLP_ENDPOINT`` with protocol http/protobuf."""
        return f"http://{self.host}:{self.http_port}"

    def http_url(self, signal: str) -> str:
        """Full per-signal URL for the HTTP exporters' ``endpoint=``: ``.../v1/traces`` etc."""
        if signal not in _SIGNALS:
            raise ValueError(f"unknown signal {signal!r}")
        return f"{self.http_endpoint}/v1/{signal}"

    # -- recording -------------------------------------------------------------------------------

    def _grpc_export(
        self, signal: str, req_type: type[Message], resp_type: type[Message]
    ) -> Callable[[bytes, grpc.ServicerContext], Message]:
        def export(raw: bytes, context: grpc.ServicerContext) -> Message:
            if self.unavailable:
                self._reject()
                context.abort(grpc.StatusCode.UNAVAILABLE, "unavailable (simulated)")
            msg = req_type.FromString(raw)
            headers = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
            self._record(Received(signal, "grpc", raw, raw, msg, headers))
            return resp_type()

        return export

    def _record(self, item: Received) -> None:
        with self._cond:
            self.received.append(item)
            self._cond.notify_all()

    def _reject(self) -> None:
        with self._cond:
            self.rejected += 1
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self.received.clear()
            self.rejected = 0

    def requests(self, signal: Optional[str] = None) -> list[Received]:
        with self._cond:
            return [r for r in self.received if signal is None or r.signal == signal]

    def raw_bytes(self, signal: Optional[str] = None) -> bytes:
        """Every payload received (after transport decompression), concatenated."""
        return b"".join(r.body for r in self.requests(signal))

    # -- decoded views ---------------------------------------------------------------------------

    def spans(self) -> list[dict[str, Any]]:
        """All spans received so far, in arrival order, as plain dicts (see `span_to_dict`)."""
        out: list[dict[str, Any]] = []
        for r in self.requests("traces"):
            for rs in r.message.resource_spans:  # type: ignore[attr-defined]
                resource = _attrs(rs.resource.attributes)
                for ss in rs.scope_spans:
                    out.extend(span_to_dict(s, resource, ss.scope.name) for s in ss.spans)
        return out

    def metrics(self) -> dict[str, list[dict[str, Any]]]:
        """Metric name -> every data point received, in arrival order (cumulative exports repeat)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for r in self.requests("metrics"):
            for rm in r.message.resource_metrics:  # type: ignore[attr-defined]
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        out.setdefault(m.name, []).extend(_datapoints(m))
        return out

    def logs(self) -> list[dict[str, Any]]:
        """All log records (and GenAI events sent as logs) as plain dicts."""
        out: list[dict[str, Any]] = []
        for r in self.requests("logs"):
            for rl in r.message.resource_logs:  # type: ignore[attr-defined]
                for sl in rl.scope_logs:
                    for lr in sl.log_records:
                        out.append({
                            "event_name": getattr(lr, "event_name", ""),
                            "body": any_value(lr.body),
                            "severity_text": lr.severity_text,
                            "severity_number": lr.severity_number,
                            "attributes": _attrs(lr.attributes),
                            "trace_id": lr.trace_id.hex() or None,
                            "span_id": lr.span_id.hex() or None,
                        })
        return out

    # -- waiting ---------------------------------------------------------------------------------

    def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,
        what: Callable[[], str] | str = "condition",
    ) -> None:
        """Block until ``predicate()`` is true; AssertionError naming ``what`` on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                desc = what() if callable(what) else what
                raise AssertionError(f"OTLP receiver: timed out after {timeout}s waiting for {desc}")
            with self._cond:  # woken by each arrival; the short timeout covers a missed notify
                self._cond.wait(min(left, 0.1))

    def wait_for_spans(self, n: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until at least ``n`` spans arrived; return all spans. AssertionError on timeout."""
        self.wait_for(
            lambda: len(self.spans()) >= n, timeout, lambda: f"{n} span(s), got {len(self.spans())}"
        )
        return self.spans()

    def wait_for_metric(self, name: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until metric ``name`` arrived; return its data points."""
        self.wait_for(
            lambda: name in self.metrics(), timeout, lambda: f"metric {name!r}, got {sorted(self.metrics())}"
        )
        return self.metrics()[name]

    def wait_for_logs(self, n: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        self.wait_for(
            lambda: len(self.logs()) >= n, timeout, lambda: f"{n} log record(s), got {len(self.logs())}"
        )
        return self.logs()


@pytest.fixture
def otlp_receiver() -> Iterator[OTLPReceiver]:
    """A started OTLPReceiver on free ports, stopped after the test."""
    rx = OTLPReceiver().start()
    try:
        yield rx
    finally:
        rx.stop()
