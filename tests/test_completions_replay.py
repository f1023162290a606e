"""Every recorded /completions interaction, replayed through the real client, sync and async.

The expected values are what the recorded request and response bodies say.
"""

from __future__ import annotations

import json

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from cylestio_monitor.instrumentation import _semconv as sc

from . import replay
from .cassettes import Interaction, interactions

COMPLETIONS = list(interactions("/completions"))


def expected_response(item: Interaction) -> dict:
    """id, model, finish reasons, usage and the text of each choice, as recorded."""
    if item.is_sse:
        chunks = item.events()
        reasons: dict = {}
        texts: dict = {}
        usage = None
        for chunk in chunks:
            for choice in chunk.get("choices") or ():
                index = choice.get("index", 0)
                texts.setdefault(index, "")
                texts[index] += choice.get("text") or ""
                if choice.get("finish_reason") is not None:
                    reasons[index] = choice["finish_reason"]
            if chunk.get("usage"):
                usage = chunk["usage"]
        head = chunks[0]
        return {"id": head.get("id"), "model": head.get("model"), "reasons": [reasons[i] for i in sorted(reasons)],
                "texts": [texts[i] for i in sorted(texts)], "usage": usage}
    body = item.json()
    choices = body.get("choices") or ()
    return {"id": body.get("id"), "model": body.get("model"),
            "reasons": [c["finish_reason"] for c in choices if c.get("finish_reason")],
            "texts": [c.get("text") for c in choices], "usage": body.get("usage")}


def expected_request(body: dict) -> dict:
    want = {sc.REQUEST_MODEL: body["model"]}
    for key, name in (("temperature", sc.REQUEST_TEMPERATURE), ("top_p", sc.REQUEST_TOP_P),
                      ("frequency_penalty", sc.REQUEST_FREQUENCY_PENALTY),
                      ("presence_penalty", sc.REQUEST_PRESENCE_PENALTY), ("seed", sc.REQUEST_SEED),
                      ("max_tokens", sc.REQUEST_MAX_TOKENS), ("stream", sc.REQUEST_STREAM)):
        if body.get(key) is not None:
            want[name] = body[key]
    return want


def expected_input(body: dict) -> list:
    prompts = [body["prompt"]] if isinstance(body["prompt"], str) else body["prompt"]
    return [{"role": "user", "parts": [{"type": "text", "content": p}]} for p in prompts]


async def _call(item: Interaction, is_async: bool):
    client = replay.client(item, is_async)
    known, extra = replay.split_kwargs(client.completions.create, item.request)
    result = client.completions.create(**known, extra_body=extra or None)
    if is_async:
        result = await result
    if item.request.get("stream"):
        if is_async:
            return [chunk async for chunk in result]
        return list(result)
    return result


@pytest.mark.parametrize("capture_content", ["NO_CONTENT", "SPAN_ONLY"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("item", COMPLETIONS, ids=[i.id for i in COMPLETIONS])
async def test_completions_interaction(item: Interaction, is_async: bool, capture_content: str, instrument,
                                       span_exporter):
    with replay.use(item):
        await _call(item, is_async)

    spans = span_exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    span = spans[0]
    attrs = dict(span.attributes)
    assert span.kind is SpanKind.CLIENT
    assert span.name == f"text_completion {item.request['model']}"
    assert attrs[sc.OPERATION_NAME] == "text_completion"
    assert attrs[sc.PROVIDER_NAME] == "openai"
    host = replay.base_url(item).split("://")[1].split("/")[0]
    assert attrs[sc.SERVER_ADDRESS] == host.split(":")[0]
    assert attrs[sc.SERVER_PORT] == (int(host.split(":")[1]) if ":" in host else 443)
    for name, value in expected_request(item.request).items():
        assert attrs[name] == value, name

    assert span.status.status_code is StatusCode.UNSET
    want = expected_response(item)
    assert attrs[sc.RESPONSE_ID] == want["id"]
    assert attrs[sc.RESPONSE_MODEL] == want["model"]
    assert list(attrs[sc.RESPONSE_FINISH_REASONS]) == want["reasons"]
    usage = want["usage"]
    if usage:
        assert attrs[sc.USAGE_INPUT_TOKENS] == usage["prompt_tokens"]
        assert attrs[sc.USAGE_OUTPUT_TOKENS] == usage["completion_tokens"]
    else:
        assert sc.USAGE_INPUT_TOKENS not in attrs
    if item.is_sse:
        assert attrs[sc.RESPONSE_TIME_TO_FIRST_CHUNK] >= 0

    if capture_content == "NO_CONTENT":
        assert sc.INPUT_MESSAGES not in attrs and sc.OUTPUT_MESSAGES not in attrs
        return
    assert json.loads(attrs[sc.INPUT_MESSAGES]) == expected_input(item.request)
    output = json.loads(attrs[sc.OUTPUT_MESSAGES])
    assert [m["finish_reason"] for m in output] == want["reasons"]
    assert ["".join(p["content"] for p in m["parts"]) for m in output] == want["texts"]
    assert all(m["role"] == "assistant" for m in output)
