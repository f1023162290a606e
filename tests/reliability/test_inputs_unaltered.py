"""What the caller passes is never altered, always sent as the bare SDK sends it, and
recorded sensibly or skipped; headers (and so API keys) are never recorded.

Each test makes the call instrumented with content capture on (span and event) and checks
the request that reached the (mock) server, the caller's own objects afterwards (deep
compared with copies taken before), and the span.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any, List

import openai
import pytest
from openai.types.chat import ChatCompletionMessage

from cylestio_monitor.instrumentation import OpenAIInstrumentor
from cylestio_monitor.instrumentation import _semconv as sc

from . import _traffic as t
from .conftest import all_text

pytestmark = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])

MODEL = "gpt-4o-mini"
HEADER_SECRET = "hdr-SECRET-7f3a9c1e5b"


@pytest.fixture
def traced(tracer_provider, meter_provider, ended, channel_consumer):
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider,
                            capture_content="SPAN_AND_EVENT")
    yield ended
    instrumentor.uninstrument()


async def _send(is_async: bool, stream: bool = False, **kwargs: Any) -> t.Server:
    server = t.Server(t.from_interaction(t.STREAM if stream else t.PLAIN))
    c = t.client(server, is_async, default_headers={"X-Team-Token": HEADER_SECRET})
    if stream:
        kwargs.update(stream=True, stream_options={"include_usage": True})
    got = await t.outcome(c, is_async, model=MODEL, **kwargs)
    assert got[0] == "return", got
    return server


def _span(ended: Any) -> Any:
    spans = ended.ours()
    assert len(spans) == 1
    return spans[0]


def _inputs(span: Any) -> List[dict]:
    return json.loads(span.attributes[sc.INPUT_MESSAGES])


def _assert_utf8(span: Any) -> None:
    """Every string we recorded can be exported (OTLP strings are UTF-8)."""
    values = list(span.attributes.values()) + [v for e in span.events for v in (e.attributes or {}).values()]
    for value in values:
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(item, str):
                item.encode("utf-8")


MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say this is a test"},
    {"role": "assistant", "content": None,
     "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "42"},
]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_generator_messages_not_drained(stream, is_async, traced):
    server = await _send(is_async, stream, messages=(m for m in copy.deepcopy(MESSAGES)))
    assert server.bodies()[0]["messages"] == MESSAGES  # every message went out
    assert [m["role"] for m in _inputs(_span(traced))] == ["system", "user", "assistant", "tool"]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_caller_objects_unchanged(stream, is_async, traced):
    messages = copy.deepcopy(MESSAGES)
    headers = {"X-Custom": HEADER_SECRET, "Authorization": f"Bearer {t.API_KEY}"}
    extra_body = {"metadata": {"k": ["v", {"n": 1}]}, "store": False}
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    before = copy.deepcopy((messages, headers, extra_body, tools))
    server = await _send(is_async, stream, messages=messages, extra_headers=headers, extra_body=extra_body,
                         tools=tools)
    assert (messages, headers, extra_body, tools) == before
    sent = server.bodies()[0]
    assert sent["messages"] == MESSAGES and sent["metadata"] == extra_body["metadata"] and sent["tools"] == tools
    assert server.requests[0].headers["X-Custom"] == HEADER_SECRET


async def test_pydantic_messages(is_async, traced):
    previous = ChatCompletionMessage(role="assistant", content="Earlier answer", refusal=None)
    messages: List[Any] = [{"role": "user", "content": "Q1"}, previous, {"role": "user", "content": "Q2"}]
    server = await _send(is_async, messages=messages)
    assert server.bodies()[0]["messages"][1] == {"role": "assistant", "content": "Earlier answer", "refusal": None}
    assert messages[1] is previous and previous.content == "Earlier answer"
    parts = _inputs(_span(traced))[1]["parts"]
    assert parts == [{"type": "text", "content": "Earlier answer"}]


async def test_not_given_and_omitted(is_async, traced):
    await _send(is_async, messages=MESSAGES[:2], temperature=openai.NOT_GIVEN, top_p=openai.omit,
                max_tokens=openai.NOT_GIVEN, stop=openai.omit, seed=openai.NOT_GIVEN)
    span = _span(traced)
    for name in (sc.REQUEST_TEMPERATURE, sc.REQUEST_TOP_P, sc.REQUEST_MAX_TOKENS, sc.REQUEST_STOP_SEQUENCES,
                 sc.REQUEST_SEED):
        assert name not in span.attributes
    assert "NOT_GIVEN" not in all_text(span) and "Omit" not in all_text(span)


BLOB = base64.b64encode(b"\x89PNG" + bytes(range(256)) * 400).decode()  # ~136 KB of base64


async def test_content_parts(is_async, traced):
    parts = [
        {"type": "text", "text": "What is in these?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{BLOB}"}},
        {"type": "input_audio", "input_audio": {"data": BLOB, "format": "wav"}},
        {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{BLOB}", "filename": "a.pdf"}},
        {"type": "file", "file": {"file_id": "file-abc"}},
        {"type": "future_part", "future_part": {"x": 1}},
    ]
    messages = [{"role": "user", "content": parts}]
    before = copy.deepcopy(messages)
    server = await _send(is_async, messages=messages)
    assert messages == before and server.bodies()[0]["messages"] == before
    span = _span(traced)
    recorded = _inputs(span)[0]["parts"]
    assert recorded[0] == {"type": "text", "content": "What is in these?"}
    assert recorded[1]["type"] == "uri" and recorded[1]["uri"] == "https://example.com/cat.png"
    assert [p["type"] for p in recorded[2:]] == ["blob", "blob", "file", "file", "future_part"]
    assert recorded[2]["mime_type"] == "image/png" and recorded[3]["mime_type"] == "audio/wav"
    assert BLOB[:64] not in all_text(span)  # megabytes of base64 are not copied into telemetry


async def test_none_content(is_async, traced):
    messages = [{"role": "user", "content": None}, {"role": "assistant", "content": None},
                {"role": "user", "content": ""}]
    server = await _send(is_async, messages=messages)
    assert server.bodies()[0]["messages"] == messages
    recorded = _inputs(_span(traced))
    assert [m["role"] for m in recorded] == ["user", "assistant", "user"]


async def test_ten_megabyte_prompt(is_async, traced):
    prompt = "All work and no play makes Jack a dull boy. " * (10 * 1024 * 1024 // 44)
    server = await _send(is_async, messages=[{"role": "user", "content": prompt}])
    assert server.bodies()[0]["messages"][0]["content"] == prompt
    span = _span(traced)
    assert span.end_time is not None
    value = span.attributes.get(sc.INPUT_MESSAGES)
    assert value is None or prompt[:1000] in value


SURROGATES = ["lone high \ud800 surrogate", "lone low \udfff", "pair split \ud83d", "\udcff\udcfe raw bytes"]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_invalid_surrogates(stream, is_async, compare):
    """openai 3.x itself refuses lone surrogates (UnicodeEncodeError building the body): the
    user gets that same error; whatever we recorded is still valid UTF-8 and exportable."""
    messages = [{"role": "user", "content": s} for s in SURROGATES]
    tools = [{"type": "function", "function": {"name": "f\ud800", "description": "d\udfff", "parameters": {}}}]
    reply = t.from_interaction(t.STREAM if stream else t.PLAIN)
    got, spans, server = await compare((reply,), is_async, model=MODEL, messages=messages, tools=tools,
                                       stream=stream)
    assert len(spans) == 1
    _assert_utf8(spans[0])
    recorded = [p["content"] for m in _inputs(spans[0]) for p in m["parts"]]
    assert len(recorded) == 4 and recorded[0].startswith("lone high ")
    if got[0] == "return":
        assert [m["content"] for m in server.bodies()[0]["messages"]] == SURROGATES


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_headers_and_api_key_never_recorded(stream, is_async, traced):
    await _send(is_async, stream, messages=MESSAGES[:2],
                extra_headers={"X-Custom": HEADER_SECRET, "api-key": t.API_KEY})
    text = all_text(_span(traced))
    assert t.API_KEY not in text and t.API_KEY[-12:] not in text
    assert HEADER_SECRET not in text
    assert sc.INPUT_MESSAGES in _span(traced).attributes  # content capture was on
