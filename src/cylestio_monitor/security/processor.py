"""``SecurityScanningSpanProcessor``: scans GenAI content of ended spans, adds findings, redacts.

A span processor cannot change a span once it has ended, so this processor *wraps* the
processor(s) that export: ``on_end`` scans the span's content and hands the next processor
a rebuilt :class:`~opentelemetry.sdk.trace.ReadableSpan` with

* one ``cylestio.security.finding`` event per finding (category, type, rule id, severity,
  location, message/part index, offsets, masked value - never the value itself);
* summary attributes (``cylestio.security.findings.count``, ``...highest_severity``,
  ``...categories``, ``...rule_ids``) for collector filtering and tail sampling;
* content attributes (and GenAI content in span events) with every secret - and PII when
  ``redact_pii=True`` - replaced by ``[REDACTED:<type>]``, and what was redacted recorded in
  ``cylestio.security.redactions.count`` / ``.types``.

Content comes from the ``gen_ai.*`` content attributes of *any* instrumentation and from the
in-process channel (:mod:`cylestio_monitor._channel`) that the Cylestio instrumentation fills
even when content capture is off - so findings appear without any prompt text being exported.
Spans without GenAI content are forwarded untouched.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Collection, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from opentelemetry import metrics
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Status

from .. import _channel
from . import _names as N
from ._redact import Located, NotJSON, ScanCache, dumps_native, redact_text, scan_content
from ._rules import severity_rank
from .guard import RequestGuard
from .scanner import Finding, Scanner, default_scanner

__all__ = ["SecurityScanningSpanProcessor"]

_log = logging.getLogger(__name__)
_CHANNEL_FIELDS = (
    ("input_messages", "input"),
    ("system_instructions", "system_instructions"),
    ("tool_definitions", "tool_definitions"),
    ("output_messages", "output"),
)
_CONTENT_KEYS = tuple(N.CONTENT_ATTRIBUTES)
_KEY_BY_LOCATION = {loc: key for key, loc in N.CONTENT_ATTRIBUTES.items()}
# (attribute key, location, channel field) in the order findings are reported
_FIELD_BY_LOCATION = {location: field for field, location in _CHANNEL_FIELDS}
_ATTRIBUTE_PLAN = tuple((key, loc, _FIELD_BY_LOCATION.get(loc)) for key, loc in N.CONTENT_ATTRIBUTES.items())
_CHANNEL_PLAN = tuple((field, loc, _KEY_BY_LOCATION[loc]) for field, loc in _CHANNEL_FIELDS)


class SecurityScanningSpanProcessor(SpanProcessor):
    """Wraps ``next_processor`` (e.g. a ``BatchSpanProcessor``); see the module docstring.

    Args:
        next_processor: the processor, or a sequence of processors, that receives every span.
        scanner: a :class:`Scanner` (default: the built-in rules).
        redact_pii: also redact PII (secrets are always redacted).
        meter_provider: where the ``cylestio.security.findings`` counter lives (default: global).
        guard: a severity (``"high"``, ``"critical"``, ...) to also register a request guard
            that blocks calls whose input reaches it; ``None`` (default) = no blocking.
        max_events: at most this many finding events per span (the count stays exact).
        cache_size: scan results of at most this many distinct strings (each up to
            ``cache_max_chars``) are kept, so the system prompt and history that multi-turn
            chats re-send on every call are scanned once; 0 disables the cache.
    """

    def __init__(
        self,
        next_processor: Union[SpanProcessor, Sequence[SpanProcessor]],
        *,
        scanner: Optional[Scanner] = None,
        redact_pii: bool = False,
        meter_provider: Optional[metrics.MeterProvider] = None,
        guard: Optional[str] = None,
        max_events: int = 64,
        cache_size: int = 2048,
        cache_max_chars: int = 16384,
    ) -> None:
        if isinstance(next_processor, SpanProcessor):
            self._next: Tuple[SpanProcessor, ...] = (next_processor,)
        else:
            self._next = tuple(next_processor)
        if not self._next or not all(isinstance(p, SpanProcessor) for p in self._next):
            raise TypeError("next_processor must be a SpanProcessor or a sequence of them")
        if max_events < 0:
            raise ValueError("max_events must be >= 0")
        self._scanner = scanner or default_scanner()
        self._cache = ScanCache(self._scanner, maxsize=cache_size, max_text=cache_max_chars)
        self._redact: Collection[str] = ("secret", "pii") if redact_pii else ("secret",)
        self._max_events = max_events
        from ..version import __version__

        meter = (meter_provider or metrics.get_meter_provider()).get_meter("cylestio_monitor.security", __version__)
        self._counter = meter.create_counter(
            N.FINDINGS_METRIC, unit="{finding}", description="Security findings in GenAI content"
        )
        self._guard: Optional[RequestGuard] = None
        if guard is not None:
            self._guard = RequestGuard(block_at=guard, scanner=self._scanner)
            self._guard.register()
        # content attached to the live span, read in _on_ending (SDK >= 1.40; on_end gets a
        # snapshot), keyed by (trace id, span id) until on_end. Read, not detached: another
        # scanning processor on the same provider (one per exporter) must get it too.
        self._pending: Dict[Tuple[int, int], _channel.GenAIContent] = {}
        _channel.add_consumer()
        _channel.set_content_redactor(self.redact_content)
        self._active = True

    # -- SpanProcessor ------------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Optional[Context] = None) -> None:
        for p in self._next:
            p.on_start(span, parent_context=parent_context)

    def _on_ending(self, span: Span) -> None:
        content = _channel.peek(span)
        if content is not None and span.context is not None:
            self._pending[(span.context.trace_id, span.context.span_id)] = content
        for p in self._next:
            hook = getattr(p, "_on_ending", None)
            if hook is not None:
                hook(span)

    def on_end(self, span: ReadableSpan) -> None:
        content = _channel.take(span)
        if self._pending and span.context is not None:
            pending = self._pending.pop((span.context.trace_id, span.context.span_id), None)
            if content is None:
                content = pending
        attrs = _plain_attributes(span)
        if content is None and not (attrs and any(k in attrs for k in _CONTENT_KEYS)) and not span.events:
            out = span  # fast path: not a GenAI span
        else:
            try:
                out = self._process(span, content)
            except Exception:  # telemetry never breaks the application
                _log.debug("security scan failed; span exported without its content", exc_info=True)
                out = _without_content(span)
        for p in self._next:
            p.on_end(out)

    def shutdown(self) -> None:
        if self._active:
            self._active = False
            _channel.remove_consumer()
            if _channel.content_redactor() == self.redact_content:
                _channel.set_content_redactor(None)
            if self._guard is not None:
                self._guard.unregister()
        for p in self._next:
            p.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(p.force_flush(timeout_millis) for p in self._next)

    def redact_content(self, content: _channel.GenAIContent) -> _channel.GenAIContent:
        """A copy of ``content`` with secrets (and PII if configured) replaced by placeholders.

        Registered with the channel so the instrumentation can redact content it emits outside
        spans (log events), which no span processor sees.
        """
        fields = {}
        for field, location in _CHANNEL_FIELDS:
            value = getattr(content, field, None)
            if value is not None:
                value, _, _, _ = scan_content(copy.deepcopy(value), location, self._cache, self._redact)
            fields[field] = value
        return _channel.GenAIContent(**fields)

    # -- scanning -------------------------------------------------------------------------
    def _process(self, span: ReadableSpan, content: Optional[_channel.GenAIContent]) -> ReadableSpan:
        src: Any = _plain_attributes(span)
        scan = self._cache
        redact = self._redact
        attrs: Dict[str, Any] = dict(src)
        located: List[Located] = []
        redacted: List[Finding] = []
        truncated = False
        genai = content is not None
        for key, location, field in _ATTRIBUTE_PLAN:
            value = src.get(key)
            if value is None:
                continue
            genai = True
            obj = getattr(content, field, None) if content is not None and field is not None else None
            if obj is not None and isinstance(value, str) and isinstance(obj, (list, dict)):
                encoded = content.encoded  # type: ignore[union-attr]
                same = encoded is not None and encoded.get(field) is value  # type: ignore[arg-type]
                done = self._scan_objects_for(obj, value, location, same)
                if done is not None:  # the attribute is the JSON of these objects: scanned them
                    new, found, used, trunc = done
                    located.extend(found)
                    redacted.extend(used)
                    truncated |= trunc
                    if used:
                        attrs[key] = new
                    continue
            new, found, used, trunc = scan_content(value, location, scan, redact)
            located.extend(found)
            redacted.extend(used)
            truncated |= trunc
            if used:
                attrs[key] = new
        if content is not None:
            for field, location, key in _CHANNEL_PLAN:
                obj = getattr(content, field, None)
                if obj is None or key in src:
                    continue  # already scanned as (or for) the attribute
                _, found, _, trunc = scan_content(obj, location, scan, ())
                located.extend(found)
                truncated |= trunc
        events = span.events
        if events:
            events = list(events)
            for i, ev in enumerate(events):
                ev_src = ev.attributes
                if ev.name == N.FINDING_EVENT or not ev_src:
                    continue
                ev_attrs = None
                for key, value in ev_src.items():
                    if key not in N.EVENT_CONTENT_KEYS or not isinstance(value, str):
                        continue
                    genai = True
                    location = N.CONTENT_ATTRIBUTES.get(key, "event")
                    new, found, used, trunc = scan_content(value, location, scan, redact)
                    truncated |= trunc
                    if key not in src:  # the same content is not reported twice
                        located.extend(found)
                    if used:
                        if ev_attrs is None:
                            ev_attrs = dict(ev_src)
                        ev_attrs[key] = new
                        redacted.extend(used)
                if ev_attrs is not None:
                    events[i] = Event(ev.name, ev_attrs, ev.timestamp)
        else:
            events = []
        if not genai:
            return span
        attrs[N.SCANNED] = True
        attrs[N.FINDINGS_COUNT] = len(located)
        if truncated:
            attrs[N.TRUNCATED] = True
        if located:
            findings = [loc.finding for loc in located]
            attrs[N.HIGHEST_SEVERITY] = max((f.severity for f in findings), key=severity_rank)
            attrs[N.CATEGORIES] = sorted({f.category for f in findings})
            attrs[N.RULE_IDS] = sorted({f.rule_id for f in findings})
            ts = span.end_time
            for loc in located[: self._max_events]:
                events.append(Event(N.FINDING_EVENT, _event_attributes(loc), ts))
            if len(located) > self._max_events:
                attrs[N.EVENTS_DROPPED] = len(located) - self._max_events
            counts: Dict[Tuple[str, str], int] = {}
            for f in findings:
                counts[(f.category, f.severity)] = counts.get((f.category, f.severity), 0) + 1
            for (cat, sev), n in counts.items():
                self._counter.add(n, {N.CATEGORY: cat, N.SEVERITY: sev})
        status = span.status
        if status.description:  # an error message may quote the request: it leaves redacted too
            text, used = redact_text(status.description, scan.scan(status.description).findings, redact)
            if used:
                status = Status(status.status_code, text)
                redacted.extend(used)
        if redacted:
            attrs[N.REDACTED_COUNT] = len(redacted)
            attrs[N.REDACTED_TYPES] = sorted({f.type for f in redacted})
        return _rebuild(span, attrs, events, status)

    def _scan_objects_for(
        self, obj: Any, attribute: str, location: str, encoded: bool = False
    ) -> Optional[Tuple[str, List[Located], List[Finding], bool]]:
        """Scan the channel objects that ``attribute`` (a JSON content attribute) was made from,
        instead of decoding the attribute; ``None`` when the attribute is not exactly their JSON
        (another instrumentation, objects changed since, not plain JSON): scan the attribute then.

        ``encoded``: the instrumentation wrote ``attribute`` (this very string) from ``obj``, so
        the objects are not encoded again to compare (the strict walk still rejects objects
        that are not plain JSON, whose attribute may hold ``str()`` forms the walk would miss).

        Returns ``(attribute value, located, redacted, truncated)``; the attribute is untouched
        when nothing is redacted, else the compact JSON of a redacted copy.
        """
        try:
            if not encoded and dumps_native(obj) != attribute:
                return None
            # one pass; the objects may be shared: a redacted result copies only the messages it changes
            new, found, used, trunc = scan_content(obj, location, self._cache, self._redact, strict=True, copy=True)
            return (dumps_native(new) if used else attribute), found, used, trunc
        except (NotJSON, TypeError, ValueError, RecursionError):
            return None


def _plain_attributes(span: ReadableSpan) -> Mapping[str, Any]:
    """The span's attributes for reading (never modified): the SDK's ``ReadableSpan`` hands out
    a ``MappingProxyType`` of a ``BoundedAttributes``, whose every look-up and copy runs Python
    code (``Mapping.get`` / ``__getitem__``); its plain ``dict`` is read directly when it is
    there, else the public mapping."""
    inner = getattr(getattr(span, "_attributes", None), "_dict", None)
    if type(inner) is dict:
        return inner
    return span.attributes or {}


def _rebuild(
    span: ReadableSpan, attrs: Dict[str, Any], events: List[Event], status: Optional[Status] = None
) -> ReadableSpan:
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attrs,
        events=events,
        links=span.links,
        kind=span.kind,
        status=span.status if status is None else status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _without_content(span: ReadableSpan) -> ReadableSpan:
    """Fail closed: a span whose content could not be scanned leaves without that content."""
    try:
        attrs = {k: v for k, v in (span.attributes or {}).items() if k not in N.CONTENT_ATTRIBUTES}
        attrs[N.SCAN_FAILED] = True
        events = [
            Event(ev.name, {k: v for k, v in (ev.attributes or {}).items() if k not in N.EVENT_CONTENT_KEYS},
                  ev.timestamp)
            for ev in span.events
        ]
        status = Status(span.status.status_code) if span.status.description else None  # may quote content
        return _rebuild(span, attrs, events, status)
    except Exception:
        _log.debug("could not strip content from the span", exc_info=True)
        return span


def _event_attributes(loc: Located) -> Dict[str, Any]:
    f = loc.finding
    return {
        N.CATEGORY: f.category,
        N.TYPE: f.type,
        N.RULE_ID: f.rule_id,
        N.SEVERITY: f.severity,
        N.LOCATION: loc.location,
        N.MESSAGE_INDEX: loc.message_index,
        N.PART_INDEX: loc.part_index,
        N.FIELD: loc.field,
        N.START: f.start,
        N.END: f.end,
        N.MASKED: f.masked,
    }
