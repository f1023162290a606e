"""The embedded default exporters of the one-call setup: nothing leaves the machine.

* :class:`ReadableConsoleSpanExporter` prints each span, its attributes and its events
  (security findings among them) in a compact, human-readable form.
* :class:`JsonLinesSpanExporter` appends one JSON object per span to a local file.
* :class:`LocalMetricExporter` does the same for metric data points (console and/or file).

They are plain SDK exporters: the SDK's ``BatchSpanProcessor`` and metric reader drive them.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import IO, Any, Callable, Iterable, List, Optional, Sequence

from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["JsonLinesSpanExporter", "LocalMetricExporter", "ReadableConsoleSpanExporter", "open_log_file"]

_PREFIX = "[cylestio]"


def _short(value: Any, limit: Optional[int]) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, (bool, int, float)):
        text = str(value)
    else:
        text = json.dumps(list(value) if isinstance(value, tuple) else value, default=str)
    if limit is not None and len(text) > limit:
        return text[:limit] + f"... ({len(text)} chars)"
    return text


def format_span(span: ReadableSpan, limit: Optional[int] = 400) -> str:
    """A few readable lines describing ``span``."""
    ctx = span.get_span_context()
    duration = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    kind = getattr(span.kind, "name", str(span.kind))
    status = span.status.status_code.name
    head = (f"{_PREFIX} span {span.name!r} {duration:.1f} ms {kind} status={status} "
            f"trace={ctx.trace_id:032x} span={ctx.span_id:016x}" if ctx else f"{_PREFIX} span {span.name!r}")
    lines = [head]
    for key, value in (span.attributes or {}).items():
        lines.append(f"    {key} = {_short(value, limit)}")
    for event in span.events:
        attrs = ", ".join(f"{k}={_short(v, limit)}" for k, v in (event.attributes or {}).items())
        lines.append(f"  ! event {event.name}: {attrs}")
    return "\n".join(lines)


def span_to_dict(span: ReadableSpan) -> dict:
    data: dict = json.loads(span.to_json(indent=None))
    return data


def open_log_file(path: str, agent_id: str) -> str:
    """Resolve ``log_file``: a directory (existing, or ending with a separator) gets ``<agent_id>.jsonl``."""
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        os.makedirs(path, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in agent_id)
        path = os.path.join(path, f"{safe}.jsonl")
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    return path


class _Sink:
    """A line sink: a text stream (resolved at write time) or an append-only file."""

    def __init__(self, stream: Optional[Callable[[], IO[str]]] = None, path: Optional[str] = None) -> None:
        self._stream = stream
        self._path = path
        self._lock = threading.Lock()

    def write(self, lines: Iterable[str]) -> bool:
        text = "".join(line + "\n" for line in lines)
        if not text:
            return True
        try:
            with self._lock:
                if self._path is not None:
                    with open(self._path, "a", encoding="utf-8") as fh:
                        fh.write(text)
                elif self._stream is not None:
                    out = self._stream()
                    out.write(text)
                    out.flush()
        except (OSError, ValueError):  # closed stream, full disk: telemetry never breaks the app
            return False
        return True


def _stderr() -> IO[str]:
    return sys.stderr


class ReadableConsoleSpanExporter(SpanExporter):
    """Prints spans readably (to stderr by default, so an app's stdout stays its own)."""

    def __init__(self, stream: Callable[[], IO[str]] = _stderr, limit: Optional[int] = 400) -> None:
        self._sink = _Sink(stream=stream)
        self._limit = limit

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        ok = self._sink.write(format_span(s, self._limit) for s in spans)
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class JsonLinesSpanExporter(SpanExporter):
    """Appends one JSON object per span (the SDK's own JSON form) to a local file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._sink = _Sink(path=path)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        ok = self._sink.write(json.dumps({"type": "span", **span_to_dict(s)}) for s in spans)
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _points(data: MetricsData) -> List[dict]:
    rows: List[dict] = []
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    row = {"type": "metric", "name": metric.name, "unit": metric.unit,
                           "attributes": dict(point.attributes or {})}
                    for attr in ("value", "sum", "count", "min", "max"):
                        if hasattr(point, attr):
                            row[attr] = getattr(point, attr)
                    rows.append(row)
    return rows


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class LocalMetricExporter(MetricExporter):
    """Writes metric data points to the console (one readable line each) and/or a JSON Lines file."""

    def __init__(
        self, console: Optional[Callable[[], IO[str]]] = _stderr, path: Optional[str] = None
    ) -> None:
        super().__init__(preferred_temporality={}, preferred_aggregation={})
        self._console = _Sink(stream=console) if console is not None else None
        self._file = _Sink(path=path) if path is not None else None

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        rows = _points(metrics_data)
        ok = True
        if self._console is not None:
            ok = self._console.write(
                f"{_PREFIX} metric {r['name']} [{r['unit']}] "
                + " ".join(f"{k}={_num(r[k])}" for k in ("value", "count", "sum") if k in r)
                + " " + json.dumps(r["attributes"], default=str)
                for r in rows) and ok
        if self._file is not None:
            ok = self._file.write(json.dumps(r, default=str) for r in rows) and ok
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass

