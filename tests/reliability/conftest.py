"""Fixtures of the reliability suite: a recorder of ended spans, content capture on."""

from __future__ import annotations

from typing import Any, Iterator, List

import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider

from cylestio_monitor import _channel
from cylestio_monitor.instrumentation import OpenAIInstrumentor

from . import _traffic as t


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


@pytest.fixture
def compare(tracer_provider: TracerProvider, meter_provider: Any, ended: Ended) -> Any:
    """Run one call uninstrumented, then instrumented (content on), against the same replies;
    assert the user sees the same outcome; return (outcome, our ended spans, server)."""

    async def run(replies: tuple, is_async: bool, mode: str = "create", client_kwargs: Any = None,
                  **kwargs: Any) -> Any:
        client_kwargs = client_kwargs or {}
        want = await t.outcome(t.client(t.Server(*replies), is_async, **client_kwargs), is_async, mode, **kwargs)
        instrumentor = OpenAIInstrumentor()
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider,
                                capture_content="SPAN_ONLY")
        try:
            server = t.Server(*replies)
            got = await t.outcome(t.client(server, is_async, **client_kwargs), is_async, mode, **kwargs)
        finally:
            instrumentor.uninstrument()
        assert t.same(got, want), (got, want)
        return got, ended.ours(), server

    return run
