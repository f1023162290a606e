"""Every recorded /chat/completions interaction, replayed through the real client, sync and async.

The expected values are what the recorded request and response bodies say.
"""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from cylestio_monitor.instrumentation import _semconv as sc

from . import replay
from .cassettes import Interaction, interactions

CHAT = list(interactions("/chat/completions"))


def expected_response(item: Interaction) -> dict:
    """id, model, finish reasons and usage as the recorded response states them."""
    if item.is_sse:
        chunks = item.events()
        reasons: dict = {}
        usage = None
        for chunk in chunks:
            for choice in chunk.get("choices") or ():
                if choice.get("finish_reason") is not None:
                    reasons[choice.get("index", 0)] = choice["finish_reason"]
            if chunk.get("usage"):
                usage = chunk["usage"]
        head = chunks[0]
        return {"id": head.get("id"), "model": head.get("model"),
                "reasons": [reasons[i] for i in sorted(reasons)], "usage": usage}
    body = item.json()
    return {"id": body.get("id"), "model": body.get("model"),
            "reasons": [c["finish_reason"] for c in body.get("choices") or () if c.get("finish_reason")],
            "usage": body.get("usage")}


def expected_request(body: dict) -> dict:
    want = {sc.REQUEST_MODEL: body["model"]}
    for key, name in (("temperature", sc.REQUEST_TEMPERATURE), ("top_p", sc.REQUEST_TOP_P),
                      ("frequency_penalty", sc.REQUEST_FREQUENCY_PENALTY),
                      ("presence_penalty", sc.REQUEST_PRESENCE_PENALTY), ("seed", sc.REQUEST_SEED)):
        if body.get(key) is not None:
            want[name] = body[key]
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None:
        want[sc.REQUEST_MAX_TOKENS] = max_tokens
    if body.get("n") not in (None, 1):
        want[sc.REQUEST_CHOICE_COUNT] = body["n"]
    if isinstance(body.get("stop"), str):
        want[sc.REQUEST_STOP_SEQUENCES] = (body["stop"],)
    elif body.get("stop"):
        want[sc.REQUEST_STOP_SEQUENCES] = tuple(body["stop"])
    if body.get("service_tier"):
        want[sc.OPENAI_REQUEST_SERVICE_TIER] = body["service_tier"]
    return want


async def _call(item: Interaction, is_async: bool):
    client = replay.client(item, is_async)
    known, extra = replay.split_kwargs(client.chat.completions.create, item.request)
    result = client.chat.completions.create(**known, extra_body=extra or None)
    if is_async:
        result = await result
    if item.request.get("stream"):
        if is_async:
            return [chunk async for chunk in result]
        return list(result)
    return result


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("item", CHAT, ids=[i.id for i in CHAT])
async def test_chat_interaction(item: Interaction, is_async: bool, instrument, span_exporter):
    with replay.use(item):
        if item.status >= 400:
            with pytest.raises(Exception) as caught:
                await _call(item, is_async)
            error = caught.value
        else:
            await _call(item, is_async)
            error = None

    spans = span_exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    span = spans[0]
    attrs = dict(span.attributes)
    assert span.kind is SpanKind.CLIENT
    assert span.name == f"chat {item.request['model']}"
    assert attrs[sc.OPERATION_NAME] == "chat"
    assert attrs[sc.PROVIDER_NAME] == "openai"
    assert attrs[sc.OPENAI_API_TYPE] == "chat_completions"
    host = replay.base_url(item).split("://")[1].split("/")[0]
    assert attrs[sc.SERVER_ADDRESS] == host.split(":")[0]
    assert attrs[sc.SERVER_PORT] == (int(host.split(":")[1]) if ":" in host else 443)
    for name, value in expected_request(item.request).items():
        assert attrs[name] == value, name
    assert sc.INPUT_MESSAGES not in attrs  # content capture is off by default

    if error is not None:
        assert span.status.status_code is StatusCode.ERROR
        assert attrs[sc.ERROR_TYPE] == f"{type(error).__module__}.{type(error).__qualname__}"
        return
    assert span.status.status_code is StatusCode.UNSET
    want = expected_response(item)
    assert attrs[sc.RESPONSE_ID] == want["id"]
    assert attrs[sc.RESPONSE_MODEL] == want["model"]
    assert list(attrs[sc.RESPONSE_FINISH_REASONS]) == want["reasons"]
    usage = want["usage"]
    if usage:
        assert attrs[sc.USAGE_INPUT_TOKENS] == usage["prompt_tokens"]
        assert attrs[sc.USAGE_OUTPUT_TOKENS] == usage["completion_tokens"]
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
        if cached is not None:
            assert attrs[sc.USAGE_CACHE_READ_INPUT_TOKENS] == cached
        reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
        if reasoning is not None:
            assert attrs[sc.USAGE_REASONING_OUTPUT_TOKENS] == reasoning
    else:
        assert sc.USAGE_INPUT_TOKENS not in attrs
    if item.is_sse:
        assert attrs[sc.RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
