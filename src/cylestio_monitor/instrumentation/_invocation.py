"""One GenAI call from start to end: the span, its attributes, content, metrics.

Written once for sync and async, streamed and not. Every public method is safe to call
in any order and more than once: the span ends exactly once. Nothing here raises into the
user's code; our failures are logged at debug level.
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import Any, Dict, List, Mapping, Optional

from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from .. import _channel
from . import _semconv as sc
from ._content import ContentMode, dumps
from ._endpoints._base import Endpoint, StreamState
from ._metrics import Instruments

__all__ = ["Invocation", "Settings", "error_type"]

_log = logging.getLogger("cylestio_monitor.instrumentation")

_METRIC_KEYS = (sc.OPERATION_NAME, sc.PROVIDER_NAME, sc.REQUEST_MODEL, sc.SERVER_ADDRESS, sc.SERVER_PORT)


class Settings:
    """What ``instrument()`` resolved: shared, read-only, by every call."""

    __slots__ = ("event_logger", "instruments", "mode", "per_chunk_metrics", "tracer")

    def __init__(
        self,
        tracer: Tracer,
        instruments: Instruments,
        mode: ContentMode,
        event_logger: Any,
        per_chunk_metrics: bool = True,
    ) -> None:
        self.tracer = tracer
        self.instruments = instruments
        self.mode = mode
        self.event_logger = event_logger
        self.per_chunk_metrics = per_chunk_metrics


def error_type(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


class Invocation:
    __slots__ = (
        "base_attrs",
        "content",
        "ended",
        "endpoint",
        "first_chunk",
        "gaps",
        "in_next",
        "last_chunk",
        "proxy",
        "retries",
        "settings",
        "span",
        "started",
        "state",
        "want_content",
    )

    def __init__(
        self,
        settings: Settings,
        endpoint: Endpoint,
        body: Mapping[str, Any],
        base_attrs: Dict[str, Any],
        need_request_content: bool,
    ) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self.ended = False
        self.state: Optional[StreamState] = None
        self.proxy: Any = None
        self.first_chunk: Optional[float] = None
        self.last_chunk = 0.0
        # time between consecutive chunks, after the first (None: time_per_output_chunk is off)
        self.gaps: Optional[List[float]] = [] if settings.per_chunk_metrics else None
        self.in_next = False
        self.retries = 0
        mode = settings.mode
        # content is built only when something will read it
        self.want_content = mode is not ContentMode.NO_CONTENT or _channel.wanted()
        attrs = base_attrs
        attrs.update(endpoint.request_attributes(body))
        self.base_attrs = attrs
        model = attrs.get(sc.REQUEST_MODEL)
        name = f"{endpoint.operation} {model}" if model else endpoint.operation
        self.content: Optional[_channel.GenAIContent] = None
        if self.want_content or need_request_content:
            self.content = endpoint.request_content(body)
            if mode.in_span:
                _set_content_attributes(attrs, self.content, record=True)
        self.span = settings.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attrs)
        self.started = perf_counter()

    # -- non-streamed ------------------------------------------------------------------

    def stop(self, response: Any) -> None:
        """The call returned ``response`` (a parsed model, or None when nothing was parsed)."""
        if self.ended:
            return
        attrs: Dict[str, Any] = {}
        output = None
        if response is not None:
            try:
                attrs = self.endpoint.response_attributes(response)
                if self.want_content:
                    output = self.endpoint.output_messages(response)
            except Exception:
                _log.debug("could not read the response", exc_info=True)
        self._end(attrs, output, None)

    def fail(self, exc: BaseException) -> None:
        if self.ended:
            return
        attrs: Dict[str, Any] = {}
        output = None
        if self.state is not None:  # a stream that failed part way: keep what it said
            attrs, output = self._stream_result(cut_short=True)
        self._end(attrs, output, exc)

    def on_retry(self, status_code: Optional[int]) -> None:
        """The SDK is about to resend the request (after ``status_code``, or a connection error/timeout)."""
        self.retries += 1
        try:
            attrs: Dict[str, Any] = {sc.HTTP_REQUEST_RESEND_COUNT: self.retries}
            if status_code is not None:
                attrs[sc.HTTP_RESPONSE_STATUS_CODE] = status_code
            self.span.add_event(sc.EVENT_RETRY, attrs)
        except Exception:
            _log.debug("could not record a retry", exc_info=True)

    # -- streamed ------------------------------------------------------------------------

    def begin_stream(self) -> None:
        self.state = self.endpoint.new_stream_state(self.want_content)

    def on_chunk(self, chunk: Any) -> None:
        now = perf_counter()
        if self.first_chunk is None:
            self.first_chunk = now
        else:
            gaps = self.gaps
            if gaps is not None:
                gaps.append(now - self.last_chunk)
        self.last_chunk = now
        try:
            self.state.on_chunk(chunk)  # type: ignore[union-attr]
        except Exception:
            _log.debug("could not read a stream chunk", exc_info=True)

    def stream_done(self) -> None:
        """The stream was read to its end."""
        if not self.ended:
            attrs, output = self._stream_result(cut_short=False)
            self._end(attrs, output, None)

    def stream_closed(self, exc: Optional[BaseException] = None) -> None:
        """The stream was closed, left, or collected: complete if its end marker was seen."""
        if self.ended or self.in_next:
            return
        if exc is not None:
            self.fail(exc)
            return
        complete = self.state is not None and self.state.complete
        attrs, output = self._stream_result(cut_short=not complete)
        self._end(attrs, output, None)

    def _stream_result(self, cut_short: bool) -> tuple:
        state = self.state
        if state is None:
            return {}, None
        try:
            attrs = state.attributes()
            output = state.output_messages() if self.want_content else None
        except Exception:
            _log.debug("could not read the stream state", exc_info=True)
            return {}, None
        if cut_short:
            reasons = list(attrs.get(sc.RESPONSE_FINISH_REASONS) or ())
            if "error" not in reasons:
                reasons.append("error")
            attrs[sc.RESPONSE_FINISH_REASONS] = reasons
        return attrs, output

    # -- the one ending --------------------------------------------------------------------

    def _end(self, attrs: Dict[str, Any], output: Optional[List[dict]], exc: Optional[BaseException]) -> None:
        if self.ended:
            return
        self.ended = True
        span = self.span
        try:
            now = perf_counter()
            if self.retries:
                attrs[sc.HTTP_REQUEST_RESEND_COUNT] = self.retries
            if self.first_chunk is not None:
                attrs[sc.RESPONSE_TIME_TO_FIRST_CHUNK] = self.first_chunk - self.started
            if exc is not None:
                kind = error_type(exc)
                attrs[sc.ERROR_TYPE] = kind
                span.set_status(Status(StatusCode.ERROR, str(exc) or kind))
            elif attrs.get(sc.ERROR_TYPE):  # a failure the endpoint reported but the SDK did not raise
                span.set_status(Status(StatusCode.ERROR, str(attrs[sc.ERROR_TYPE])))
            content = self.content
            if content is not None and output is not None:
                content.output_messages = output
            mode = self.settings.mode
            if mode.in_span and output is not None:
                text = attrs[sc.OUTPUT_MESSAGES] = dumps(output)
                if content is not None and content.encoded is not None:
                    content.encoded["output_messages"] = text
            if attrs:
                span.set_attributes(attrs)
            if content is not None:
                if _channel.wanted():
                    _channel.attach(span, content)
                if mode.in_event:
                    self._emit_event(content)
            self._record_metrics(attrs, now)
        except Exception:
            _log.debug("could not finish the span", exc_info=True)
        finally:
            try:
                span.end()  # runs every span processor's on_end: one that raises must not reach the user
            except Exception:
                _log.debug("a span processor failed at span end", exc_info=True)

    def _record_metrics(self, attrs: Mapping[str, Any], now: float) -> None:
        base = self.base_attrs
        metric_attrs = {key: base[key] for key in _METRIC_KEYS if key in base}
        model = attrs.get(sc.RESPONSE_MODEL)
        if model:
            metric_attrs[sc.RESPONSE_MODEL] = model
        tier = attrs.get(sc.OPENAI_RESPONSE_SERVICE_TIER)
        if tier:
            metric_attrs[sc.OPENAI_RESPONSE_SERVICE_TIER] = tier
        error = attrs.get(sc.ERROR_TYPE)
        if error:
            metric_attrs[sc.ERROR_TYPE] = error
        ttfc = None if self.first_chunk is None else self.first_chunk - self.started
        self.settings.instruments.record(
            metric_attrs,
            now - self.started,
            attrs.get(sc.USAGE_INPUT_TOKENS),
            attrs.get(sc.USAGE_OUTPUT_TOKENS),
            ttfc,
            self.gaps or (),
        )

    def _emit_event(self, content: _channel.GenAIContent) -> None:
        logger = self.settings.event_logger
        if logger is None:
            return
        redact = _channel.content_redactor()
        if redact is not None:
            content = redact(content)
        attrs: Dict[str, Any] = {sc.OPERATION_NAME: self.endpoint.operation}
        _set_content_attributes(attrs, content)
        if content.output_messages is not None:
            attrs[sc.OUTPUT_MESSAGES] = dumps(content.output_messages)
        from opentelemetry import trace
        from opentelemetry._logs import LogRecord  # only in event modes

        logger.emit(
            LogRecord(
                event_name=sc.EVENT_OPERATION_DETAILS,
                attributes=attrs,
                context=trace.set_span_in_context(self.span),
            )
        )


def _set_content_attributes(attrs: Dict[str, Any], content: _channel.GenAIContent, record: bool = False) -> None:
    """The content attributes of ``content``; ``record``: remember each JSON in ``content.encoded``."""
    encoded: Dict[str, str] = {}
    if content.input_messages is not None:
        text = attrs[sc.INPUT_MESSAGES] = dumps(content.input_messages)
        encoded["input_messages"] = text
    if content.system_instructions:
        text = attrs[sc.SYSTEM_INSTRUCTIONS] = dumps(content.system_instructions)
        encoded["system_instructions"] = text
    if content.tool_definitions:
        text = attrs[sc.TOOL_DEFINITIONS] = dumps(content.tool_definitions)
        encoded["tool_definitions"] = text
    if record:
        content.encoded = encoded
