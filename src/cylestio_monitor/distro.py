"""``opentelemetry-instrument`` support: a configurator that puts the scanner in front of exporters.

The stock CLI (``opentelemetry-instrument python app.py``) loads, in order, a distro, one
*configurator* (entry point group ``opentelemetry_configurator``) that builds the SDK
providers and exporters from the ``OTEL_*`` variables, then every instrumentor (ours loads
through the ``opentelemetry_instrumentor`` entry point ``openai``).

:class:`CylestioConfigurator` is the SDK's own configurator with one change: each exporter
the SDK creates gets a ``BatchSpanProcessor`` behind ONE ``SecurityScanningSpanProcessor``
(through the SDK's ``export_span_processor`` hook), so spans are scanned once and redacted
before any exporter sees them. It is registered as ``cylestio``::

    pip install "cylestio-monitor[instruments]"
    OTEL_PYTHON_CONFIGURATOR=cylestio \\
    OTEL_SERVICE_NAME=my-agent \\
    OTEL_TRACES_EXPORTER=otlp OTEL_METRICS_EXPORTER=otlp \\
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 \\
    opentelemetry-instrument python app.py

``OTEL_PYTHON_CONFIGURATOR=cylestio`` is needed only when another configurator is installed
too (``opentelemetry-distro`` ships one); with ours alone the CLI picks it anyway. If the
security processor did not end up in the pipeline, a warning says so after start-up.

Security options come from ``CYLESTIO_SECURITY``, ``CYLESTIO_REDACT_PII``,
``CYLESTIO_GUARD_SEVERITY`` and ``CYLESTIO_CUSTOM_RULES`` (see :mod:`cylestio_monitor.config`).
Content capture follows the standard ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
(default ``NO_CONTENT``; scanning works either way).
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from opentelemetry import trace
from opentelemetry.sdk._configuration import _OTelSDKConfigurator
from opentelemetry.sdk.trace import SpanProcessor, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from .config import resolve

__all__ = ["CylestioConfigurator", "check_pipeline", "secure_export_processor"]

logger = logging.getLogger("cylestio_monitor")

_state = {"configured": False}


def secure_export_processor(span_exporter: SpanExporter, *args: Any, **kwargs: Any) -> SpanProcessor:
    """``export_span_processor`` for the SDK: the scanner in front of a batch processor, one per
    call (the configurator uses one scanner for all its exporters instead, see ``_SharedScanner``)."""
    return _SharedScanner()(span_exporter, *args, **kwargs)


class _SharedScanner:
    """``export_span_processor`` for one configuration: ONE scanner in front of every exporter.

    The SDK asks for a processor per exporter (``OTEL_TRACES_EXPORTER=otlp,console``). The first
    call returns ``SecurityScanningSpanProcessor(fan_out)``; later calls add their batch processor
    to ``fan_out`` and return a processor that does nothing. So each span is scanned once, and
    content that reaches the scanner only through the never-exported channel (content capture
    off) yields the same findings on every exporter.
    """

    def __init__(self) -> None:
        self._fan_out: Optional[SynchronousMultiSpanProcessor] = None

    def __call__(self, span_exporter: SpanExporter, *args: Any, **kwargs: Any) -> SpanProcessor:
        batch = BatchSpanProcessor(span_exporter, *args, **kwargs)
        if self._fan_out is not None:
            self._fan_out.add_span_processor(batch)
            return SpanProcessor()
        settings = resolve("opentelemetry-instrument")
        if not settings.security:
            return batch
        from .security import SecurityScanningSpanProcessor

        self._fan_out = SynchronousMultiSpanProcessor()
        self._fan_out.add_span_processor(batch)
        processor: SpanProcessor = SecurityScanningSpanProcessor(self._fan_out, **settings.processor_kwargs())
        return processor


class CylestioConfigurator(_OTelSDKConfigurator):
    """The SDK configurator, with the span exporters behind one ``SecurityScanningSpanProcessor``."""

    def _configure(self, **kwargs: Any) -> None:
        kwargs.setdefault("export_span_processor", _SharedScanner())
        super()._configure(**kwargs)
        _state["configured"] = True


def check_pipeline() -> None:
    """``opentelemetry_post_instrument`` hook: warn when spans are exported without our scanner."""
    if not _state["configured"] and isinstance(trace.get_tracer_provider(), TracerProvider):
        logger.warning(
            "cylestio_monitor: another OpenTelemetry configurator set up the exporters, so spans are "
            "exported without security scanning; set OTEL_PYTHON_CONFIGURATOR=cylestio")
