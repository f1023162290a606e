"""Telemetry never breaks the call: each internal step of ours made to raise, one at a time.

For every fault and every way of calling (sync/async, plain/streamed/``with``/raw, success
and HTTP error) the user gets exactly what the same recorded interaction gives with no
instrumentation at all (the same value, or the same exception), never our exception, and
the span is still ended, or, when the fault is at span start, the call goes on untraced.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import pytest
from opentelemetry.sdk import trace as sdk_trace

from cylestio_monitor import _channel
from cylestio_monitor.instrumentation import OpenAIInstrumentor, _hook, _invocation, _metrics, _streams
from cylestio_monitor.instrumentation._endpoints import chat

from . import _traffic as t


class InjectedFault(RuntimeError):
    pass


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise InjectedFault("injected")


# name -> (patch function, where the fault hits: "start" = the call goes on untraced)
FAULTS: Dict[str, Tuple[Callable[[pytest.MonkeyPatch, Any], None], str]] = {
    "request_attributes": (lambda mp, _: mp.setattr(chat.ChatEndpoint, "request_attributes", _boom), "start"),
    "request_content": (lambda mp, _: mp.setattr(chat.ChatEndpoint, "request_content", _boom), "start"),
    "input_messages": (lambda mp, _: mp.setattr(chat, "input_messages", _boom), "start"),
    "client_attributes": (lambda mp, _: mp.setattr(_hook, "_client_attributes", _boom), "start"),
    "content_json": (lambda mp, _: mp.setattr(_invocation, "dumps", _boom), "start"),
    "span_start": (lambda mp, _: mp.setattr(sdk_trace.Tracer, "start_span", _boom), "start"),
    "request_guard": (lambda mp, _: mp.setattr(_channel, "_guards", (_boom,)), "end"),
    "response_attributes": (lambda mp, _: mp.setattr(chat.ChatEndpoint, "response_attributes", _boom), "end"),
    "output_messages": (lambda mp, _: mp.setattr(chat.ChatEndpoint, "output_messages", _boom), "end"),
    "raw_mode": (lambda mp, _: mp.setattr(_hook, "_raw_mode", _boom), "end"),
    "hook_parse": (lambda mp, _: mp.setattr(_hook, "_hook_parse", _boom), "end"),
    "new_stream_state": (lambda mp, _: mp.setattr(chat.ChatEndpoint, "new_stream_state", _boom), "end"),
    "hook_response_close": (lambda mp, _: mp.setattr(_streams, "_hook_response_close", _boom), "end"),
    "stream_chunk": (lambda mp, _: mp.setattr(chat.ChatStreamState, "on_chunk", _boom), "end"),
    "stream_complete": (lambda mp, _: mp.setattr(chat.ChatStreamState, "complete", property(_boom)), "end"),
    "stream_attributes": (lambda mp, _: mp.setattr(chat.ChatStreamState, "attributes", _boom), "end"),
    "stream_output": (lambda mp, _: mp.setattr(chat.ChatStreamState, "output_messages", _boom), "end"),
    "channel_attach": (lambda mp, _: mp.setattr(_channel, "attach", _boom), "end"),
    "content_event": (lambda mp, _: mp.setattr(_invocation.Invocation, "_emit_event", _boom), "end"),
    "content_redactor": (lambda mp, _: mp.setattr(_channel, "_redactor", _boom), "end"),
    "error_type": (lambda mp, _: mp.setattr(_invocation, "error_type", _boom), "end"),
    "metrics_record": (lambda mp, _: mp.setattr(_metrics.Instruments, "record", _boom), "end"),
    "export": (lambda mp, tp: mp.setattr(tp._exporter_under_test, "export", _boom), "end"),
    "span_processor_on_end": (lambda mp, tp: tp.add_span_processor(_RaisingOnEnd()), "end"),
}


class _RaisingOnEnd:
    def on_start(self, *args: Any, **kwargs: Any) -> None:
        pass

    def _on_ending(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_end(self, span: Any) -> None:
        raise InjectedFault("on_end")

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


# (item, mode); every scenario runs sync and async
SCENARIOS = {
    "plain": (t.PLAIN, "create"),
    "raw": (t.PLAIN, "raw"),
    "stream": (t.STREAM, "create"),
    "stream_with": (t.STREAM, "context"),
    "tools_stream": (t.TOOLS_STREAM, "create"),
    "http_404": (t.NOT_FOUND, "create"),
}

_baseline: Dict[Tuple[str, bool], Tuple[Any, ...]] = {}


async def _uninstrumented(scenario: str, is_async: bool) -> Tuple[Any, ...]:
    key = (scenario, is_async)
    if key not in _baseline:
        assert not OpenAIInstrumentor().is_instrumented_by_opentelemetry
        item, mode = SCENARIOS[scenario]
        c = t.client(t.Server(t.from_interaction(item)), is_async)
        _baseline[key] = await t.outcome(c, is_async, mode, **t.kwargs_of(item))
    return _baseline[key]


def _chain(exc: BaseException) -> list:
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return seen


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("fault", list(FAULTS))
async def test_fault_never_reaches_the_user(fault, scenario, is_async, tracer_provider, meter_provider,
                                            span_exporter, ended, channel_consumer, monkeypatch, caplog):
    want = await _uninstrumented(scenario, is_async)
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider,
                            capture_content="SPAN_AND_EVENT")
    try:
        monkeypatch.setattr(_channel, "_redactor", lambda content: content)
        tracer_provider._exporter_under_test = span_exporter
        patch, where = FAULTS[fault]
        patch(monkeypatch, tracer_provider)
        item, mode = SCENARIOS[scenario]
        c = t.client(t.Server(t.from_interaction(item)), is_async)
        got = await t.outcome(c, is_async, mode, **t.kwargs_of(item))
        monkeypatch.undo()
    finally:
        instrumentor.uninstrument()

    assert t.same(got, want), (got, want)
    if got[0] == "raise":
        assert not any(isinstance(e, InjectedFault) for e in _chain(got[4]))
    spans = ended.ours()
    if where == "start":
        assert spans == []  # untraced, not broken
    else:
        assert len(spans) == 1
        assert spans[0].end_time is not None
        if fault != "export":
            assert len(span_exporter.get_finished_spans()) == 1
