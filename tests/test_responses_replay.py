"""Every recorded /responses interaction, replayed through the real client, sync and async,
through every call style that sends that request: ``create`` and ``parse`` for plain
requests, ``create(stream=True)`` and the ``.stream()`` helper for streamed ones.

The expected values are what the recorded request and response bodies say.
"""

from __future__ import annotations

import json
from typing import Any, List, Optional

import openai
import pydantic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from cylestio_monitor.instrumentation import _semconv as sc

from . import replay
from .cassettes import Interaction, interactions

RESPONSES = list(interactions("/responses"))
# the Responses API exists from openai 1.66; older releases have nothing to trace here
pytestmark = pytest.mark.skipif(not hasattr(openai.OpenAI, "responses"),
                                reason=f"openai {openai.__version__} has no Responses API")

CASES = [(item, style) for item in RESPONSES
         for style in (("create", "stream_helper") if item.is_sse else ("create", "parse"))]


class Person(pydantic.BaseModel):
    name: str
    age: int


def final_response(item: Interaction) -> Optional[dict]:
    """The recorded final response: the body, or the terminal event's ``response``."""
    if not item.is_sse:
        return item.json() if item.status < 400 else None
    for event in item.events():
        if event.get("type") in ("response.completed", "response.incomplete", "response.failed"):
            return event["response"]
    return None


def expected_reason(response: dict) -> str:
    status = response["status"]
    if status == "completed":
        return "tool_calls" if any(o["type"] == "function_call" for o in response["output"]) else "stop"
    if status == "incomplete":
        return response["incomplete_details"]["reason"]
    return {"failed": "error"}.get(status, status)


def expected_request(body: dict) -> dict:
    want = {sc.REQUEST_MODEL: body["model"], sc.OPENAI_API_TYPE: "responses"}
    for key, name in (("temperature", sc.REQUEST_TEMPERATURE), ("top_p", sc.REQUEST_TOP_P),
                      ("max_output_tokens", sc.REQUEST_MAX_TOKENS), ("service_tier", sc.OPENAI_REQUEST_SERVICE_TIER),
                      ("previous_response_id", sc.OPENAI_REQUEST_PREVIOUS_RESPONSE_ID)):
        if body.get(key) is not None:
            want[name] = body[key]
    if (body.get("reasoning") or {}).get("effort"):
        want[sc.OPENAI_REQUEST_REASONING_EFFORT] = body["reasoning"]["effort"]
    fmt = ((body.get("text") or {}).get("format") or {}).get("type")
    if fmt:
        want[sc.OUTPUT_TYPE] = "json" if fmt in ("json_schema", "json_object") else "text"
    return want


def expected_input(value: Any) -> List[dict]:
    if isinstance(value, str):
        return [{"role": "user", "parts": [{"type": "text", "content": value}]}]
    result = []
    for message in value:
        content = message["content"]
        texts = [content] if isinstance(content, str) else [p["text"] for p in content]
        result.append({"role": message["role"], "parts": [{"type": "text", "content": t} for t in texts]})
    return result


def expected_output(response: dict) -> dict:
    parts: List[dict] = []
    for item in response["output"]:
        if item["type"] == "message":
            parts += [{"type": "text", "content": c.get("text", c.get("refusal"))} for c in item["content"]]
        elif item["type"] == "function_call":
            parts.append({"type": "tool_call", "id": item["call_id"], "name": item["name"],
                          "arguments": item["arguments"]})
        elif item["type"] == "reasoning":
            parts.append({"type": "reasoning", "content": "\n\n".join(s["text"] for s in item["summary"])})
    return {"role": "assistant", "parts": parts, "finish_reason": expected_reason(response)}


async def _call(item: Interaction, style: str, is_async: bool) -> Any:
    client = replay.client(item, is_async)
    body = dict(item.request)
    if style == "stream_helper":
        body.pop("stream")
        known, extra = replay.split_kwargs(client.responses.stream, body)
        manager = client.responses.stream(**known, extra_body=extra or None)
        if is_async:
            async with manager as stream:
                events = [event async for event in stream]
                return events, await stream.get_final_response()
        with manager as stream:
            return list(stream), stream.get_final_response()
    method = client.responses.parse if style == "parse" else client.responses.create
    if style == "parse" and "json_schema" in json.dumps(body.get("text")):
        body.pop("text")
        body["text_format"] = Person
    known, extra = replay.split_kwargs(method, body)
    result = method(**known, extra_body=extra or None)
    if is_async:
        result = await result
    if body.get("stream"):
        if is_async:
            return [event async for event in result], None
        return list(result), None
    return None, result


@pytest.mark.parametrize("capture_content", ["NO_CONTENT", "SPAN_ONLY"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(("item", "style"), CASES, ids=[f"{i.id}-{s}" for i, s in CASES])
async def test_responses_interaction(item: Interaction, style: str, is_async: bool, capture_content: str,
                                     instrument, span_exporter):
    with replay.use(item):
        if item.status >= 400:
            with pytest.raises(openai.APIStatusError) as caught:
                await _call(item, style, is_async)
            error: Any = caught.value
        else:
            events, result = await _call(item, style, is_async)
            error = None

    spans = span_exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    span = spans[0]
    attrs = dict(span.attributes)
    body = item.request
    assert span.kind is SpanKind.CLIENT
    assert span.name == f"chat {body['model']}"
    assert attrs[sc.OPERATION_NAME] == "chat"
    assert attrs[sc.PROVIDER_NAME] == "openai"
    assert attrs[sc.SERVER_ADDRESS] == "api.openai.com" and attrs[sc.SERVER_PORT] == 443
    for name, value in expected_request(body).items():
        assert attrs[name] == value, name
    assert attrs.get(sc.REQUEST_STREAM, False) is bool(item.is_sse)

    if capture_content == "SPAN_ONLY":
        assert json.loads(attrs[sc.INPUT_MESSAGES]) == expected_input(body["input"])
        if body.get("instructions"):
            assert json.loads(attrs[sc.SYSTEM_INSTRUCTIONS]) == [{"type": "text", "content": body["instructions"]}]
        else:
            assert sc.SYSTEM_INSTRUCTIONS not in attrs
        if body.get("tools"):
            tools = json.loads(attrs[sc.TOOL_DEFINITIONS])
            assert [t["name"] for t in tools] == [t["name"] for t in body["tools"]]
    else:
        assert not {sc.INPUT_MESSAGES, sc.OUTPUT_MESSAGES, sc.SYSTEM_INSTRUCTIONS} & set(attrs)

    if error is not None:
        assert span.status.status_code is StatusCode.ERROR
        assert attrs[sc.ERROR_TYPE] == f"{type(error).__module__}.{type(error).__qualname__}"
        return
    response = final_response(item)
    assert response is not None
    assert span.status.status_code is StatusCode.UNSET
    assert attrs[sc.RESPONSE_ID] == response["id"]
    assert attrs[sc.RESPONSE_MODEL] == response["model"]
    assert list(attrs[sc.RESPONSE_FINISH_REASONS]) == [expected_reason(response)]
    usage = response["usage"]
    assert attrs[sc.USAGE_INPUT_TOKENS] == usage["input_tokens"]
    assert attrs[sc.USAGE_OUTPUT_TOKENS] == usage["output_tokens"]
    assert attrs[sc.USAGE_CACHE_READ_INPUT_TOKENS] == usage["input_tokens_details"]["cached_tokens"]
    assert attrs[sc.USAGE_REASONING_OUTPUT_TOKENS] == usage["output_tokens_details"]["reasoning_tokens"]
    if response.get("service_tier"):
        assert attrs[sc.OPENAI_RESPONSE_SERVICE_TIER] == response["service_tier"]
    if item.is_sse:
        assert attrs[sc.RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
        assert len(events) == len(item.events())  # the user saw every event
    else:
        assert result.id == response["id"]
        if style == "parse" and "json_schema" in json.dumps(body.get("text")):
            assert isinstance(result.output_parsed, Person)
    if capture_content == "SPAN_ONLY":
        assert json.loads(attrs[sc.OUTPUT_MESSAGES]) == [expected_output(response)]
