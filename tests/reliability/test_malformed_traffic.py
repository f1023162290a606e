"""Malformed and unlucky traffic: the user sees what the bare SDK shows them, and we record
one sensible span per logical call.

``choices: null`` chunks, missing/partial/odd usage, unknown fields, non-JSON error bodies,
truncated SSE, a connection dropped mid-stream, HTTP 429/500 retried (one span, retries
counted in ``http.request.resend_count`` with one ``openai.retry`` event per retry),
timeouts.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

import httpx2
import openai
import pytest
from opentelemetry.trace import StatusCode

from cylestio_monitor.instrumentation import _semconv as sc
from cylestio_monitor.instrumentation._invocation import error_type

from . import _traffic as t

pytestmark = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])

MSG = [{"role": "user", "content": "Say this is a test"}]
RESEND = "http.request.resend_count"
RETRY_EVENT = "openai.retry"


def chunk(choices: Any = (), usage: Any = None, **extra: Any) -> Dict[str, Any]:
    body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
            "choices": list(choices) if isinstance(choices, tuple) else choices, "usage": usage}
    body.update(extra)
    return body


def delta(text: str, finish: Any = None, index: int = 0) -> Dict[str, Any]:
    return {"index": index, "delta": {"role": "assistant", "content": text}, "finish_reason": finish}


def completion(usage: Any = None, **extra: Any) -> Dict[str, Any]:
    body = {"id": "chatcmpl-2", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "This is a test."},
                         "finish_reason": "stop"}], "usage": usage}
    body.update(extra)
    return body


def one_span(spans: List[Any]) -> Any:
    assert len(spans) == 1, [s.name for s in spans]
    assert spans[0].end_time is not None
    return spans[0]


def output_text(span: Any) -> str:
    messages = json.loads(span.attributes[sc.OUTPUT_MESSAGES])
    return "".join(p.get("content") or "" for m in messages for p in m["parts"])


STREAMS = {
    "choices_null": (
        [chunk([delta("This ")]), chunk(None), chunk([delta("is a test.", "stop")]),
         chunk(None, usage={"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9})],
        {"reasons": ("stop",), "text": "This is a test.", "in": 5, "out": 4},
    ),
    "choices_missing_and_delta_null": (
        [{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"},
         chunk([{"index": 0, "delta": None, "finish_reason": None}]), chunk([delta("ok", "stop")])],
        {"reasons": ("stop",), "text": "ok"},
    ),
    "usage_partial": (
        [chunk([delta("ok", "stop")]),
         chunk([], usage={"prompt_tokens": 3, "prompt_tokens_details": None, "completion_tokens_details": None})],
        {"reasons": ("stop",), "text": "ok", "in": 3, "out": None},
    ),
    "usage_wrong_types": (
        [chunk([delta("ok", "stop")]), chunk([], usage={"prompt_tokens": "3", "completion_tokens": None})],
        {"reasons": ("stop",), "text": "ok", "in": None, "out": None},
    ),
    "usage_not_an_object": (
        [chunk([delta("ok", "stop")]), chunk([], usage="lots")],
        {"reasons": ("stop",), "text": "ok", "in": None, "out": None},
    ),
    "unknown_fields": (
        [chunk([{**delta("o"), "brand_new": {"x": 1}}], novel=[1, 2], obfuscation="zz"),
         chunk([{"index": 0, "delta": {"content": "k", "weird_part": {"a": 1}}, "finish_reason": "new_reason"}])],
        {"reasons": ("new_reason",), "text": "ok"},
    ),
    "index_missing_and_out_of_order": (
        [chunk([{"index": 1, "delta": {"content": "B"}, "finish_reason": "stop"}]),
         chunk([{"delta": {"content": "A"}, "finish_reason": "stop"}])],
        {"reasons": ("stop", "stop"), "text": "AB"},
    ),
    "no_finish_reason_then_done": (
        [chunk([delta("half")])],
        {"reasons": ("error",), "text": "half"},
    ),
}


@pytest.mark.parametrize("case", list(STREAMS))
async def test_odd_stream_chunks(case, is_async, compare):
    events, want = STREAMS[case]
    reply = t.response(200, t.sse_body(events), sse=True)
    got, spans, _ = await compare((reply,), is_async, model="gpt-4o-mini", messages=MSG, stream=True)
    assert got[0] == "return"
    span = one_span(spans)
    attrs = span.attributes
    assert tuple(attrs[sc.RESPONSE_FINISH_REASONS]) == want["reasons"]
    assert output_text(span) == want["text"]
    for key, name in (("in", sc.USAGE_INPUT_TOKENS), ("out", sc.USAGE_OUTPUT_TOKENS)):
        if key in want:
            assert attrs.get(name) == want[key]


PLAIN = {
    "usage_missing": (completion(), {}),
    "usage_partial": (completion({"prompt_tokens": 9, "completion_tokens_details": None}),
                      {sc.USAGE_INPUT_TOKENS: 9}),
    "usage_odd": (completion({"prompt_tokens": 1.5, "completion_tokens": [1]}), {}),
    "choices_null": (completion(choices=None), {}),
    "unknown_fields": (completion({"prompt_tokens": 2, "completion_tokens": 3, "new_detail": {"z": 1}},
                                  brand_new="x", choices=[{"index": 0, "finish_reason": "stop", "extra": 1,
                                                           "message": {"role": "assistant", "content": "hi",
                                                                       "new_part": [1]}}]),
                       {sc.USAGE_INPUT_TOKENS: 2, sc.USAGE_OUTPUT_TOKENS: 3}),
}


@pytest.mark.parametrize("case", list(PLAIN))
async def test_odd_completions(case, is_async, compare):
    body, want = PLAIN[case]
    got, spans, _ = await compare((t.response(200, body),), is_async, model="gpt-4o-mini", messages=MSG)
    assert got[0] == "return"
    attrs = one_span(spans).attributes
    for name in (sc.USAGE_INPUT_TOKENS, sc.USAGE_OUTPUT_TOKENS):
        assert attrs.get(name) == want.get(name)
    assert attrs[sc.RESPONSE_ID] == "chatcmpl-2"


ERRORS = {
    "html_502": (502, "<html><body>Bad gateway</body></html>", "openai.InternalServerError"),
    "empty_400": (400, "", "openai.BadRequestError"),
    "text_401": (401, "Unauthorized", "openai.AuthenticationError"),
    "json_not_object_422": (422, "[1, 2, 3]", "openai.UnprocessableEntityError"),
    "truncated_json_500": (500, '{"error": {"message": "bro', "openai.InternalServerError"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("case", list(ERRORS))
async def test_non_json_error_bodies(case, stream, is_async, compare):
    status, body, error = ERRORS[case]
    reply = httpx2.Response(status, content=body.encode(), headers={"content-type": "text/html"})
    got, spans, _ = await compare((reply,), is_async, model="gpt-4o-mini", messages=MSG, stream=stream)
    assert got[0] == "raise" and got[3] == status
    span = one_span(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == error


def _chunks(n: int) -> List[bytes]:
    return [f"data: {json.dumps(chunk([delta(f'w{i} ')]))}\n\n".encode() for i in range(n)]


SSE_CUTS = {
    "cut_mid_json": _chunks(2)[0] + _chunks(2)[1][: len(_chunks(2)[1]) // 2],
    "cut_mid_line_no_newline": _chunks(1)[0] + b'data: {"id": "chatcmpl-1", "obj',
    "no_done_marker": b"".join(_chunks(3)),
    "empty_body": b"",
    "garbage": b"this is not server-sent events\n\n",
    "error_event": _chunks(1)[0] + b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n',
}


@pytest.mark.parametrize("case", list(SSE_CUTS))
async def test_truncated_sse(case, is_async, compare):
    reply = t.response(200, SSE_CUTS[case], sse=True)
    got, spans, _ = await compare((reply,), is_async, model="gpt-4o-mini", messages=MSG, stream=True)
    span = one_span(spans)
    if got[0] == "raise":
        assert span.status.status_code is StatusCode.ERROR
    reasons = span.attributes.get(sc.RESPONSE_FINISH_REASONS)
    assert reasons is None or "error" in reasons  # never a clean "stop" for a stream cut short


class _DroppedStream(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A response body that sends two events and then loses the connection."""

    def __iter__(self):  # type: ignore[override]
        yield from _chunks(2)
        raise httpx2.RemoteProtocolError("peer closed connection without sending complete message body")

    async def __aiter__(self):  # type: ignore[override]
        for piece in _chunks(2):
            yield piece
        raise httpx2.RemoteProtocolError("peer closed connection without sending complete message body")


async def test_connection_dropped_mid_stream(is_async, compare):
    def reply(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=_DroppedStream(), headers={"content-type": "text/event-stream"})

    got, spans, _ = await compare((reply,), is_async, model="gpt-4o-mini", messages=MSG, stream=True)
    assert got[0] == "raise"
    span = one_span(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == error_type(got[4])
    assert "error" in span.attributes[sc.RESPONSE_FINISH_REASONS]
    assert output_text(span) == "w0 w1 "  # what arrived before the drop is kept


FAST = {"retry-after-ms": "1"}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_retries_one_span_retries_visible(stream, is_async, compare):
    ok = t.from_interaction(t.STREAM if stream else t.PLAIN)
    replies = (t.response(429, {"error": {"message": "slow down"}}, headers=FAST),
               t.response(500, "oops", headers=FAST), ok)
    item = t.STREAM if stream else t.PLAIN
    got, spans, server = await compare(replies, is_async, client_kwargs={"max_retries": 2}, **t.kwargs_of(item))
    assert got[0] == "return"
    assert len(server.requests) == 3
    span = one_span(spans)
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes[RESEND] == 2
    events = [e for e in span.events if e.name == RETRY_EVENT]
    assert [e.attributes["http.response.status_code"] for e in events] == [429, 500]
    assert [e.attributes[RESEND] for e in events] == [1, 2]


async def test_retries_exhausted(is_async, compare):
    replies = (t.response(429, {"error": {"message": "slow down", "type": "rate_limit"}}, headers=FAST),)
    got, spans, server = await compare(replies, is_async, client_kwargs={"max_retries": 2},
                                       model="gpt-4o-mini", messages=MSG)
    assert got[1] is openai.RateLimitError
    assert len(server.requests) == 3
    span = one_span(spans)
    assert span.attributes[sc.ERROR_TYPE] == "openai.RateLimitError"
    assert span.attributes[RESEND] == 2


async def test_no_retry_no_resend_attribute(is_async, compare):
    _, spans, _ = await compare((t.from_interaction(t.PLAIN),), is_async, client_kwargs={"max_retries": 2},
                                **t.kwargs_of(t.PLAIN))
    span = one_span(spans)
    assert RESEND not in span.attributes
    assert not [e for e in span.events if e.name == RETRY_EVENT]


@pytest.mark.parametrize("retries", [0, 1])
async def test_timeouts(retries, is_async, compare):
    replies = (httpx2.ReadTimeout("timed out"),)
    got, spans, server = await compare(replies, is_async, client_kwargs={"max_retries": retries, "timeout": 0.5},
                                       model="gpt-4o-mini", messages=MSG)
    assert got[1] is openai.APITimeoutError
    assert len(server.requests) == retries + 1
    span = one_span(spans)
    assert span.attributes[sc.ERROR_TYPE] == "openai.APITimeoutError"
    assert span.attributes.get(RESEND) == (retries or None)
