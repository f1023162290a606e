"""Every recorded /embeddings interaction (OpenAI, a local server, Azure), replayed through the
real client, sync and async. The expected values are what the recorded bodies say.

openai >= 1.x sends ``encoding_format: "base64"`` when the caller names none; a few
cassettes were recorded without the key, so the replay matcher here treats a missing
``encoding_format`` in the recording as that default (the answer is the same).
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

import openai
import pytest
import vcr
from opentelemetry.trace import SpanKind, StatusCode

from cylestio_monitor.instrumentation import _semconv as sc

from . import mock_openai, replay
from .cassettes import Interaction, interactions

EMBEDDINGS = list(interactions("/embeddings"))
AZURE_HOST = "test-resource.openai.azure.com"


def _decode(body: Any) -> Any:
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return json.loads(body) if body else None


def _body_json_sdk_default(r1: Any, r2: Any) -> None:
    sent, recorded = _decode(r1.body), _decode(r2.body)
    if isinstance(sent, dict) and isinstance(recorded, dict) and "encoding_format" not in recorded \
            and "encoding_format" in sent:  # newer SDKs add their default (base64) to the request
        recorded = {**recorded, "encoding_format": sent.get("encoding_format")}
    assert sent == recorded


VCR = vcr.VCR(record_mode="none", match_on=("method", "host", "port", "path", "body_json"))
VCR.register_matcher("body_json", _body_json_sdk_default)
VCR.register_persister(replay._OneInteraction)


def use(item: Interaction) -> Any:
    return VCR.use_cassette(f"{item.cassette}#{item.index}", allow_playback_repeats=True)


@functools.lru_cache(maxsize=1)
def sdk_default_encoding() -> Any:
    """The encoding_format the installed SDK sends when the caller names none (asked, not assumed)."""
    body = json.dumps({"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}],
                       "model": "m", "usage": {"prompt_tokens": 1, "total_tokens": 1}}).encode()
    handler = mock_openai.responder(body)
    mock_openai.client(handler).embeddings.create(model="m", input="x")
    return json.loads(handler.requests[0].content).get("encoding_format")


def is_azure(item: Interaction) -> bool:
    return AZURE_HOST in item.uri


def client(item: Interaction, is_async: bool) -> Any:
    if not is_azure(item):
        return replay.client(item, is_async)
    cls = openai.AsyncAzureOpenAI if is_async else openai.AzureOpenAI
    return cls(api_key="test_azure_api_key", azure_endpoint=f"https://{AZURE_HOST}",
               azure_deployment="test-deployment", api_version="2024-02-01", max_retries=0)


def dimensions(embedding: Any) -> int:
    if isinstance(embedding, str):
        return len(base64.b64decode(embedding)) // 4
    return len(embedding)


def expected_input(value: Any) -> list:
    items = [value] if isinstance(value, str) else value
    return [{"role": "user", "parts": [{"type": "text", "content": text} for text in items]}]


async def _call(item: Interaction, is_async: bool, raw: bool):
    c = client(item, is_async)
    resource = c.embeddings.with_raw_response if raw else c.embeddings
    known, extra = replay.split_kwargs(c.embeddings.create, item.request)
    result = resource.create(**known, extra_body=extra or None)
    if is_async:
        result = await result
    if raw:
        result = result.parse()
    return result


@pytest.mark.parametrize("capture_content", ["NO_CONTENT", "SPAN_ONLY"])
@pytest.mark.parametrize("raw", [False, True], ids=["plain", "raw"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("item", EMBEDDINGS, ids=[i.id for i in EMBEDDINGS])
async def test_embeddings_interaction(item: Interaction, is_async: bool, raw: bool, capture_content: str,
                                      instrument, span_exporter):
    with use(item):
        if item.status >= 400:
            with pytest.raises(openai.APIStatusError) as caught:
                await _call(item, is_async, raw)
            error: Any = caught.value
        else:
            result = await _call(item, is_async, raw)
            error = None

    spans = span_exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    span = spans[0]
    attrs = dict(span.attributes)
    body = item.request
    assert span.kind is SpanKind.CLIENT
    assert span.name == f"embeddings {body['model']}"
    assert attrs[sc.OPERATION_NAME] == "embeddings"
    assert attrs[sc.REQUEST_MODEL] == body["model"]
    # what went on the wire: the caller's format, or the installed SDK's default (base64, or none)
    sent = body.get("encoding_format", sdk_default_encoding())
    if sent is None:
        assert sc.REQUEST_ENCODING_FORMATS not in attrs
    else:
        assert list(attrs[sc.REQUEST_ENCODING_FORMATS]) == [sent]
    if is_azure(item):
        assert attrs[sc.PROVIDER_NAME] == "azure.ai.openai"
        assert attrs[sc.SERVER_ADDRESS] == AZURE_HOST
        assert attrs[sc.SERVER_PORT] == 443
    else:
        host = replay.base_url(item).split("://")[1].split("/")[0]
        assert attrs[sc.PROVIDER_NAME] == "openai"
        assert attrs[sc.SERVER_ADDRESS] == host.split(":")[0]
        assert attrs[sc.SERVER_PORT] == (int(host.split(":")[1]) if ":" in host else 443)
    if capture_content == "SPAN_ONLY":
        assert json.loads(attrs[sc.INPUT_MESSAGES]) == expected_input(body["input"])
    else:
        assert sc.INPUT_MESSAGES not in attrs
    assert sc.OUTPUT_MESSAGES not in attrs  # vectors are not messages

    if error is not None:
        assert span.status.status_code is StatusCode.ERROR
        assert attrs[sc.ERROR_TYPE] == f"{type(error).__module__}.{type(error).__qualname__}"
        assert sc.USAGE_INPUT_TOKENS not in attrs
        return
    recorded = item.json()
    assert span.status.status_code is StatusCode.UNSET
    assert attrs[sc.RESPONSE_MODEL] == recorded["model"]
    assert attrs[sc.USAGE_INPUT_TOKENS] == recorded["usage"]["prompt_tokens"]
    assert sc.USAGE_OUTPUT_TOKENS not in attrs
    assert attrs[sc.EMBEDDINGS_DIMENSION_COUNT] == dimensions(recorded["data"][0]["embedding"])
    if body.get("dimensions"):
        assert attrs[sc.EMBEDDINGS_DIMENSION_COUNT] == body["dimensions"]
    # the user's result is untouched by the instrumentation
    assert len(result.data) == len(recorded["data"])
