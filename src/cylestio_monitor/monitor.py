"""One-call setup for applications: :func:`start_monitoring` / :func:`stop_monitoring`.

``start_monitoring("my-agent")`` builds (or joins) the OpenTelemetry tracer and meter
providers, puts the security scanner in front of the exporters
(``SecurityScanningSpanProcessor(BatchSpanProcessor(exporter))``) and instruments the
``openai`` SDK. With no endpoint configured the spans are printed readably to stderr and/or
written to a local JSON Lines file: nothing is sent anywhere unless asked. Settings and their
environment variables are listed in :mod:`cylestio_monitor.config`.

Differences from the bare instrumentor: here message content is recorded by default
(``SPAN_ONLY``, secrets and other findings redacted by the security processor), where
``OpenAIInstrumentor`` defaults to ``NO_CONTENT``. Content stays off by default when the
security layer is switched off, and when joining an application's own provider (whose
exporters we cannot put behind the scanner).
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, List, Mapping, Optional

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from . import _local_export
from .config import ConfigError, Settings, resolve

__all__ = ["ConfigError", "flush_monitoring", "start_monitoring", "stop_monitoring"]

logger = logging.getLogger("cylestio_monitor")

_AGENT_ID = "gen_ai.agent.id"
_SERVICE_NAME = "service.name"
_OWNED = "_cylestio_owned"


@dataclass
class _Monitor:
    settings: Settings
    tracer_provider: TracerProvider
    owns_tracer_provider: bool
    span_processor: Optional[SpanProcessor]
    meter_provider: Optional[MeterProvider]
    owns_meter_provider: bool
    instrumentor: Any = None
    log_handler: Optional[logging.Handler] = None
    prev_log_level: int = logging.NOTSET
    notes: List[str] = field(default_factory=list)
    relays: List[_Relay] = field(default_factory=list)  # point the providers we own at the pipeline


_lock = threading.RLock()
_state: Optional[_Monitor] = None
_atexit_registered = False


class _Relay(SpanProcessor):
    """The one span processor of a tracer provider we own: forwards to the current pipeline.

    The API lets a process set its global tracer provider once, so a restart
    (``stop_monitoring()`` then ``start_monitoring()``) cannot replace it. Instead the provider
    made by the first start stays global, and each start points its relay at the new export
    pipeline: code that traces through the global provider keeps exporting after a restart.
    """

    def __init__(self) -> None:
        self.target: Optional[SpanProcessor] = None

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        target = self.target
        if target is not None:
            target.on_start(span, parent_context=parent_context)

    def _on_ending(self, span: Any) -> None:
        target = self.target
        if target is not None and hasattr(target, "_on_ending"):
            target._on_ending(span)

    def on_end(self, span: Any) -> None:
        target = self.target
        if target is not None:
            target.on_end(span)

    def shutdown(self) -> None:
        target, self.target = self.target, None
        if target is not None:
            target.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        target = self.target
        return True if target is None else target.force_flush(timeout_millis)


def _relay(provider: TracerProvider) -> Optional[_Relay]:
    relay = getattr(provider, _OWNED, None)
    return relay if isinstance(relay, _Relay) else None


class _AgentIdProcessor(SpanProcessor):
    """Sets ``gen_ai.agent.id`` on spans: used only when joining a provider whose resource is not ours."""

    def __init__(self, agent_id: str) -> None:
        self._agent_id = agent_id

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        span.set_attribute(_AGENT_ID, self._agent_id)


def _resource(settings: Settings) -> Resource:
    attrs: dict = {**settings.resource_attributes, _AGENT_ID: settings.agent_id}
    env_names_service = bool(os.environ.get("OTEL_SERVICE_NAME", "").strip()) or any(
        part.strip().startswith(_SERVICE_NAME + "=")
        for part in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","))
    if settings.service_name:
        attrs[_SERVICE_NAME] = settings.service_name
    elif _SERVICE_NAME not in attrs and not env_names_service:
        attrs[_SERVICE_NAME] = settings.agent_id
    return Resource.create(attrs)


def _otlp_kwargs(settings: Settings, signal: str) -> dict:
    kwargs: dict = {}
    if settings.endpoint and not settings.endpoint_from_env:
        url = settings.endpoint
        if settings.protocol == "http/protobuf" and not url.rstrip("/").endswith(f"/v1/{signal}"):
            url = url.rstrip("/") + f"/v1/{signal}"
        kwargs["endpoint"] = url
    if settings.headers:
        kwargs["headers"] = dict(settings.headers)
    if settings.export_timeout is not None:
        kwargs["timeout"] = settings.export_timeout
    return kwargs


def _span_exporters(settings: Settings) -> List[SpanExporter]:
    exporters: List[SpanExporter] = []
    if "otlp" in settings.exporters:
        if settings.protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[assignment]
                OTLPSpanExporter,
            )
        exporters.append(OTLPSpanExporter(**_otlp_kwargs(settings, "traces")))
    if "console" in settings.exporters:
        limit = None if settings.development_mode else 400
        exporters.append(_local_export.ReadableConsoleSpanExporter(limit=limit))
    if "file" in settings.exporters and settings.log_file:
        exporters.append(_local_export.JsonLinesSpanExporter(settings.log_file))
    return exporters


def _metric_readers(settings: Settings) -> List[MetricReader]:
    readers: List[MetricReader] = []
    if "otlp" in settings.exporters:
        if settings.protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        else:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[assignment]
                OTLPMetricExporter,
            )
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(**_otlp_kwargs(settings, "metrics"))))
    console = "console" in settings.exporters
    path = settings.log_file if "file" in settings.exporters else None
    if console or path:
        # Local metrics are written once, at stop_monitoring(): no periodic thread.
        stream = (lambda: sys.stderr) if console else None
        local = _local_export.LocalMetricExporter(console=stream, path=path)
        readers.append(PeriodicExportingMetricReader(local, export_interval_millis=math.inf))
    return readers


def _export_pipeline(settings: Settings, exporters: List[SpanExporter], meter_provider: Any) -> SpanProcessor:
    batches: List[SpanProcessor] = [BatchSpanProcessor(e) for e in exporters]
    if settings.security:
        from .security import SecurityScanningSpanProcessor

        kwargs = settings.processor_kwargs()
        if meter_provider is not None:
            kwargs["meter_provider"] = meter_provider
        processor: SpanProcessor = SecurityScanningSpanProcessor(batches, **kwargs)
        return processor
    if len(batches) == 1:
        return batches[0]
    multi = SynchronousMultiSpanProcessor()
    for b in batches:
        multi.add_span_processor(b)
    return multi


def _setup_logging(settings: Settings, state: _Monitor) -> None:
    if settings.debug_level is None:
        return
    state.prev_log_level = logger.level
    logger.setLevel(settings.debug_level)
    # Our own logger only: a handler is added just when nothing would show our records.
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        state.log_handler = handler


def start_monitoring(agent_id: str, config: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> None:
    """Start monitoring the ``openai`` calls of this process as agent ``agent_id``.

    ``config`` (a dict) and keyword arguments take the same keys (keyword arguments win);
    see :mod:`cylestio_monitor.config`. Raises :class:`ConfigError` on an invalid setting.
    Calling it again restarts monitoring with the new settings.
    """
    global _state, _atexit_registered
    settings = resolve(agent_id, config, kwargs)
    with _lock:
        if _state is not None:
            logger.info("start_monitoring called while running: restarting")
            stop_monitoring()
        if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            logger.info("OTEL_SDK_DISABLED=true: monitoring not started")
            return

        global_tp = trace.get_tracer_provider()
        joined = isinstance(global_tp, TracerProvider) and not getattr(global_tp, _OWNED, False)
        # a provider we made in an earlier run that is still the global one (a restart)
        earlier = _relay(global_tp) if isinstance(global_tp, TracerProvider) else None
        resource = _resource(settings)
        if joined:
            tracer_provider: TracerProvider = global_tp  # type: ignore[assignment]
            tracer_provider.add_span_processor(_AgentIdProcessor(settings.agent_id))
        elif earlier is not None and global_tp.resource == resource:  # type: ignore[attr-defined]
            tracer_provider = global_tp  # type: ignore[assignment]
        else:
            tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
            setattr(tracer_provider, _OWNED, _Relay())
            tracer_provider.add_span_processor(getattr(tracer_provider, _OWNED))
            if not isinstance(global_tp, TracerProvider):
                trace.set_tracer_provider(tracer_provider)

        global_mp = metrics.get_meter_provider()
        meter_provider: Optional[MeterProvider] = None
        owns_mp = False
        if isinstance(global_mp, MeterProvider) and not getattr(global_mp, _OWNED, False):
            meter_provider = global_mp
        elif settings.metrics:
            readers = _metric_readers(settings)
            if readers:
                meter_provider = MeterProvider(resource=tracer_provider.resource, metric_readers=readers,
                                               shutdown_on_exit=False)
                setattr(meter_provider, _OWNED, True)
                owns_mp = True
                if not isinstance(global_mp, MeterProvider):
                    metrics.set_meter_provider(meter_provider)

        span_processor: Optional[SpanProcessor] = None
        exporters = _span_exporters(settings)
        relays: List[_Relay] = []
        if exporters:
            span_processor = _export_pipeline(settings, exporters, meter_provider)
            if joined:
                tracer_provider.add_span_processor(span_processor)
            else:
                own = _relay(tracer_provider)
                relays = [r for r in (own, earlier if earlier is not own else None) if r is not None]
                for relay in relays:
                    relay.target = span_processor

        state = _Monitor(settings, tracer_provider, not joined, span_processor, meter_provider, owns_mp,
                         relays=relays)
        if getattr(global_mp, _OWNED, False) and meter_provider is not global_mp:
            state.notes.append("restarted: our metrics go to a new meter provider, but the global one cannot be "
                               "replaced, so metrics the application makes through it are not exported")
        if earlier is not None and tracer_provider is not global_tp:
            state.notes.append("restarted with other resource attributes: spans made through the global "
                               "tracer provider keep the first run's resource")
        _setup_logging(settings, state)
        if joined:
            state.notes.append("joined the application's TracerProvider: its own exporters are not "
                               "behind the security scanner")
        _instrument(settings, state, joined)
        _state = state
        if not _atexit_registered:
            atexit.register(_stop_at_exit)
            _atexit_registered = True
        logger.info("monitoring started: agent_id=%s exporters=%s%s", settings.agent_id,
                    ",".join(settings.exporters) or "none", "".join("; " + n for n in state.notes))


def _instrument(settings: Settings, state: _Monitor, joined: bool) -> None:
    try:
        from .instrumentation import OpenAIInstrumentor
    except ImportError as exc:  # the instrumentation package itself is broken: say so, don't break the app
        logger.warning("OpenAI instrumentation unavailable: %s", exc)
        return
    capture: Optional[str] = settings.capture_content
    if "capture_content" not in settings.explicit and (joined or not settings.security):
        capture = None  # the instrumentor's own default (env var, else NO_CONTENT)
    instrumentor = OpenAIInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        logger.warning("openai is already instrumented (e.g. by opentelemetry-instrument): "
                       "start_monitoring() leaves that instrumentation as it is")
        return
    instrumentor.instrument(tracer_provider=state.tracer_provider, meter_provider=state.meter_provider,
                            capture_content=capture)
    if instrumentor.is_instrumented_by_opentelemetry:
        state.instrumentor = instrumentor
    else:
        logger.warning("openai could not be instrumented (is the openai package installed?)")


def _shutdown(state: _Monitor) -> None:
    # detach the pipeline from the providers we own (they stay usable for a restart; a joined
    # provider keeps it, shut down), then flush and shut it down: the providers hold nothing else
    for relay in state.relays:
        if relay.target is state.span_processor:
            relay.target = None
    if state.span_processor is not None:
        state.span_processor.force_flush()
        state.span_processor.shutdown()
    if state.owns_meter_provider and state.meter_provider is not None:
        state.meter_provider.force_flush()  # a reader with no export interval collects only here
        state.meter_provider.shutdown()


def stop_monitoring(timeout: Optional[float] = None) -> bool:
    """Flush what was recorded, shut the exporters down and uninstrument ``openai``.

    Returns within ``timeout`` seconds (default: the ``flush_timeout`` setting, 5 s) even if
    an exporter's endpoint does not answer; returns False when the flush did not complete.
    Safe to call twice, and safe when monitoring was never started.
    """
    global _state
    with _lock:
        state, _state = _state, None
    if state is None:
        return True
    try:
        if state.instrumentor is not None:
            state.instrumentor.uninstrument()
    except Exception:  # never let teardown raise into the app
        logger.exception("uninstrumenting openai failed")
    bound = state.settings.flush_timeout if timeout is None else timeout
    done = _bounded(_shutdown, state, bound, "flushing")
    if state.log_handler is not None:
        logger.removeHandler(state.log_handler)
    if state.settings.debug_level is not None:
        logger.setLevel(state.prev_log_level)
    return done


def _flush(state: _Monitor) -> None:
    if state.span_processor is not None:
        state.span_processor.force_flush()
    if state.meter_provider is not None:
        state.meter_provider.force_flush()


def _bounded(target: Callable[[_Monitor], None], state: _Monitor, seconds: float, what: str) -> bool:
    def run() -> None:
        try:
            target(state)
        except Exception:
            logger.exception("%s telemetry failed", what)

    worker = threading.Thread(target=run, name=f"cylestio-{what}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        logger.warning("%s telemetry did not finish within %.1f s; what was not yet exported is dropped",
                       what, seconds)
        return False
    return True


def flush_monitoring(timeout: Optional[float] = None) -> bool:
    """Export what was recorded so far, without stopping (e.g. at the end of a serverless invocation).

    Bounded like :func:`stop_monitoring`; returns False if it did not complete in time.
    """
    state = _state
    if state is None:
        return True
    return _bounded(_flush, state, state.settings.flush_timeout if timeout is None else timeout, "flushing")



def _stop_at_exit() -> None:
    if _state is not None:
        stop_monitoring()
