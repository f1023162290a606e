"""OpenTelemetry instrumentation for the ``openai`` Python SDK (1.0 to <4).

Usage::

    from cylestio_monitor.instrumentation import OpenAIInstrumentor

    OpenAIInstrumentor().instrument(
        tracer_provider=tracer_provider,   # default: the global provider
        meter_provider=meter_provider,     # default: the global provider
        capture_content="SPAN_ONLY",       # default: $OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT or NO_CONTENT
        per_chunk_metrics=True,            # default: $CYLESTIO_PER_CHUNK_METRICS or true
    )

or, with no code at all, ``opentelemetry-instrument python app.py`` (entry point
``opentelemetry_instrumentor: openai``).

Every inference call becomes one CLIENT span with the GenAI semantic-convention
attributes, and the GenAI client metrics are recorded. Message content is recorded only
when asked (``capture_content`` / the environment variable): ``NO_CONTENT`` (default),
``SPAN_ONLY``, ``EVENT_ONLY``, ``SPAN_AND_EVENT``, or ``true``/``false``. Request headers
(and so API keys) are never recorded.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Collection

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from ..version import __version__
from ._content import ENV_CAPTURE_CONTENT, ContentMode, resolve_mode
from ._hook import patch, unpatch
from ._invocation import Settings
from ._metrics import Instruments

__all__ = ["ENV_CAPTURE_CONTENT", "ENV_PER_CHUNK_METRICS", "ContentMode", "OpenAIInstrumentor"]

_log = logging.getLogger("cylestio_monitor.instrumentation")

_SCOPE = "cylestio_monitor.instrumentation.openai"
#: "false" drops gen_ai.client.operation.time_per_output_chunk (one SDK histogram point per chunk)
ENV_PER_CHUNK_METRICS = "CYLESTIO_PER_CHUNK_METRICS"
_FALSE = frozenset(("0", "false", "no", "off"))
_INSTRUMENTS = ("openai >= 1.0, < 4",)
_SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"


class OpenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instruments the OpenAI client's ``request`` method (sync and async)."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _INSTRUMENTS

    def _instrument(self, **kwargs: Any) -> None:
        mode = resolve_mode(kwargs.get("capture_content"))
        tracer = trace.get_tracer(
            _SCOPE, __version__, tracer_provider=kwargs.get("tracer_provider"), schema_url=_SCHEMA_URL
        )
        meter = metrics.get_meter(
            _SCOPE, __version__, meter_provider=kwargs.get("meter_provider"), schema_url=_SCHEMA_URL
        )
        event_logger = None
        if mode.in_event:
            from opentelemetry._logs import get_logger

            event_logger = get_logger(
                _SCOPE, __version__, logger_provider=kwargs.get("logger_provider"), schema_url=_SCHEMA_URL
            )
        per_chunk = kwargs.get("per_chunk_metrics")
        if per_chunk is None:
            per_chunk = os.environ.get(ENV_PER_CHUNK_METRICS, "true").strip().lower() not in _FALSE
        patch(Settings(tracer, Instruments(meter), mode, event_logger, bool(per_chunk)))

    def _uninstrument(self, **kwargs: Any) -> None:
        unpatch()
