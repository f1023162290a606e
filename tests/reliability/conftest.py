"""Fixtures of the reliability suite: a recorder of ended spans, content capture on."""

from __future__ import annotations

from typing import Any, Iterator, List

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

from cylestio_monitor import _channel


class Ended(SpanProcessor):
    """Records every span that ended, whatever the export processors did with it."""

    def __init__(self) -> None:
        self.spans: List[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)

    def ours(self) -> List[ReadableSpan]:
        return [s for s in self.spans if s.instrumentation_scope and
                s.instrumentation_scope.name.startswith("cylestio_monitor")]


@pytest.fixture
def ended(tracer_provider: TracerProvider) -> Ended:
    recorder = Ended()
    tracer_provider.add_span_processor(recorder)
    return recorder


@pytest.fixture
def channel_consumer() -> Iterator[None]:
    """Content flows to the (never exported) channel too, as with the security processor."""
    _channel.add_consumer()
    yield
    _channel.remove_consumer()


def all_text(span: Any) -> str:
    """Every attribute and event attribute of a span, as one string."""
    parts = [span.name, repr(dict(span.attributes or {}))]
    for event in span.events:
        parts.append(event.name)
        parts.append(repr(dict(event.attributes or {})))
    return "\n".join(parts)
