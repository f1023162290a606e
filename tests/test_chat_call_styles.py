"""Every way to call /chat/completions yields exactly one correct span, and the same result.

Each style runs twice over the same recorded body: once uninstrumented, once instrumented.
The results must be equal and of the same type; the span must carry what the body says.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict

import openai
import pydantic
import pytest

from cylestio_monitor.instrumentation import OpenAIInstrumentor
from cylestio_monitor.instrumentation import _semconv as sc

from . import mock_openai
from .cassettes import ROOT, load

NONSTREAM = load(ROOT / "otel-contrib/test_chat_completion_with_content.yaml")[0]
STREAM = load(ROOT / "otel-contrib/test_chat_completion_with_context_manager_streaming.yaml")[0]
PARSED = load(ROOT / "openllmetry/test_chat_parse/test_parsed_completion.yaml")[0]

MESSAGES = [{"role": "user", "content": "Say this is a test"}]


class StructuredAnswer(pydantic.BaseModel):
    rating: int
    joke: str


def _summary(value: Any) -> Any:
    """A comparable form of what a call returned (models, lists of chunks, parsed objects)."""
    if isinstance(value, list):
        return [_summary(v) for v in value]
    if isinstance(value, pydantic.BaseModel):
        return (type(value).__name__, value.model_dump(mode="json"))
    return value


# -- the call styles: each takes a client and returns what the user ends up with ----------

def create(c):
    return c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


async def acreate(c):
    return await c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def create_stream(c):
    return list(c.chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True,
                                          extra_body={"stream_options": {"include_usage": True}}))


async def acreate_stream(c):
    stream = await c.chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True,
                                             extra_body={"stream_options": {"include_usage": True}})
    return [chunk async for chunk in stream]


def create_stream_with(c):
    with c.chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True) as stream:
        return list(stream)


async def acreate_stream_with(c):
    async with await c.chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True) as stream:
        return [chunk async for chunk in stream]


def parse(c):
    return c.chat.completions.parse(model="gpt-4o", messages=MESSAGES, response_format=StructuredAnswer)


async def aparse(c):
    return await c.chat.completions.parse(model="gpt-4o", messages=MESSAGES, response_format=StructuredAnswer)


def beta_parse(c):
    return c.beta.chat.completions.parse(model="gpt-4o", messages=MESSAGES, response_format=StructuredAnswer)


async def abeta_parse(c):
    return await c.beta.chat.completions.parse(model="gpt-4o", messages=MESSAGES, response_format=StructuredAnswer)


def helper_stream(c):
    with c.chat.completions.stream(model="gpt-4", messages=MESSAGES) as stream:
        events = [event.type for event in stream]
        return [events, stream.get_final_completion()]


async def ahelper_stream(c):
    async with c.chat.completions.stream(model="gpt-4", messages=MESSAGES) as stream:
        events = [event.type async for event in stream]
        return [events, await stream.get_final_completion()]


def raw(c):
    response = c.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    return [response.headers.get("content-type"), response.parse()]


async def araw(c):
    response = await c.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    return [response.headers.get("content-type"), response.parse()]


def raw_stream(c):
    response = c.chat.completions.with_raw_response.create(model="gpt-4", messages=MESSAGES, stream=True)
    return list(response.parse())


async def araw_stream(c):
    response = await c.chat.completions.with_raw_response.create(model="gpt-4", messages=MESSAGES, stream=True)
    return [chunk async for chunk in response.parse()]


def streaming_response(c):
    with c.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=MESSAGES) as response:
        return response.parse()


async def astreaming_response(c):
    async with c.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=MESSAGES) as r:
        return await r.parse()


def streaming_response_stream(c):
    with c.chat.completions.with_streaming_response.create(model="gpt-4", messages=MESSAGES, stream=True) as r:
        return list(r.parse())


async def astreaming_response_stream(c):
    async with c.chat.completions.with_streaming_response.create(
        model="gpt-4", messages=MESSAGES, stream=True
    ) as r:
        return [chunk async for chunk in await r.parse()]


STYLES: Dict[str, tuple] = {
    # name: (sync, async, recorded interaction)
    "create": (create, acreate, NONSTREAM),
    "create-stream": (create_stream, acreate_stream, STREAM),
    "create-stream-with": (create_stream_with, acreate_stream_with, STREAM),
    "parse": (parse, aparse, PARSED),
    "beta-parse": (beta_parse, abeta_parse, PARSED),
    "stream-helper": (helper_stream, ahelper_stream, STREAM),
    "with_raw_response": (raw, araw, NONSTREAM),
    "with_raw_response-stream": (raw_stream, araw_stream, STREAM),
    "with_streaming_response": (streaming_response, astreaming_response, NONSTREAM),
    "with_streaming_response-stream": (streaming_response_stream, astreaming_response_stream, STREAM),
}


def expected(item) -> Dict[str, Any]:
    if item.is_sse:
        chunks = item.events()
        usage = next(c["usage"] for c in chunks if c.get("usage"))
        reasons = [ch["finish_reason"] for c in chunks for ch in c.get("choices") or () if ch.get("finish_reason")]
        head = chunks[0]
    else:
        body = item.json()
        head, usage = body, body["usage"]
        reasons = [c["finish_reason"] for c in body["choices"]]
    return {
        sc.RESPONSE_ID: head["id"],
        sc.RESPONSE_MODEL: head["model"],
        sc.RESPONSE_FINISH_REASONS: tuple(reasons),
        sc.USAGE_INPUT_TOKENS: usage["prompt_tokens"],
        sc.USAGE_OUTPUT_TOKENS: usage["completion_tokens"],
    }


async def _run(call: Callable, item, is_async: bool, **client_kwargs) -> Any:
    handler = mock_openai.responder(item.body)
    result = call(mock_openai.client(handler, is_async, **client_kwargs))
    if is_async:
        result = await result
    assert len(handler.requests) == 1
    return _summary(result)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("style", list(STYLES))
async def test_call_style(style: str, is_async: bool, tracer_provider, meter_provider, span_exporter):
    sync_call, async_call, item = STYLES[style]
    call = async_call if is_async else sync_call
    try:
        baseline = await _run(call, item, is_async)
    except (AttributeError, TypeError) as exc:  # the style does not exist in this SDK release
        pytest.skip(f"openai {openai.__version__} has no {style}: {exc}")

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        result = await _run(call, item, is_async)
    finally:
        instrumentor.uninstrument()

    assert result == baseline
    spans = span_exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    attrs = dict(spans[0].attributes)
    for name, value in expected(item).items():
        assert attrs[name] == value, name
    assert attrs[sc.OPERATION_NAME] == "chat"
    assert attrs[sc.REQUEST_STREAM] is item.is_sse
    if style in ("parse", "beta-parse"):
        assert attrs[sc.OUTPUT_TYPE] == "json"


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_client_and_raw_wrappers_built_before_instrument(is_async, tracer_provider, meter_provider,
                                                               span_exporter):
    """with_raw_response is a cached property capturing the bound create: built before instrument()."""
    handler = mock_openai.responder(NONSTREAM.body)
    client = mock_openai.client(handler, is_async)
    raw_create = client.chat.completions.with_raw_response.create
    plain_create = client.chat.completions.create

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        for fn in (raw_create, plain_create):
            result = fn(model="gpt-4o-mini", messages=MESSAGES)
            if is_async:
                result = await result
    finally:
        instrumentor.uninstrument()
    spans = span_exporter.get_finished_spans()
    assert len(spans) == 2
    assert {s.attributes[sc.RESPONSE_ID] for s in spans} == {NONSTREAM.json()["id"]}


def test_uninstrument_restores_and_records_nothing(tracer_provider, meter_provider, span_exporter):
    import openai._base_client as base

    before = (base.SyncAPIClient.__dict__["request"], base.AsyncAPIClient.__dict__["request"])
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    assert base.SyncAPIClient.__dict__["request"] is not before[0]
    instrumentor.uninstrument()
    assert (base.SyncAPIClient.__dict__["request"], base.AsyncAPIClient.__dict__["request"]) == before
    create(mock_openai.client(mock_openai.responder(NONSTREAM.body)))
    assert span_exporter.get_finished_spans() == ()


def test_request_body_is_what_the_user_sent(instrument, span_exporter):
    handler = mock_openai.responder(NONSTREAM.body)
    create(mock_openai.client(handler))
    sent = json.loads(handler.requests[0].content)
    assert sent == {"model": "gpt-4o-mini", "messages": MESSAGES}
