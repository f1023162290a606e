"""The GenAI client metrics, read back from a real ``InMemoryMetricReader``: names, units,
bucket boundaries, values from the recorded usage, and the attributes they carry."""

from __future__ import annotations

from typing import Any, Dict, List

import openai
import pytest

from cylestio_monitor.instrumentation import _semconv as sc

from . import mock_openai, replay

DURATION = "gen_ai.client.operation.duration"
TOKENS = "gen_ai.client.token.usage"
TTFC = "gen_ai.client.operation.time_to_first_chunk"
TPOC = "gen_ai.client.operation.time_per_output_chunk"

# semconv: gen_ai.client.operation.duration and gen_ai.client.token.usage advisory boundaries
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
CHUNK_BUCKETS = DURATION_BUCKETS  # semconv gives time_per_output_chunk the duration boundaries

CHAT = "otel-contrib/test_chat_completion_no_content.yaml"
CHAT_STREAM = "otel-contrib/test_chat_completion_streaming.yaml"
RESPONSES = "otel-contrib/test_responses_create_with_all_params[content_mode0].yaml"
RESPONSES_STREAM = "otel-contrib/test_responses_create_streaming[content_mode0].yaml"
EMBEDDINGS = "otel-contrib/test_embeddings_no_content.yaml"
COMPLETIONS = "openllmetry/test_completions/test_completion.yaml"


def metrics(reader: Any) -> Dict[str, Any]:
    data = reader.get_metrics_data()
    out: Dict[str, Any] = {}
    for rm in data.resource_metrics if data else ():
        for scope in rm.scope_metrics:
            for metric in scope.metrics:
                out[metric.name] = metric
    return out


def points(metric: Any) -> List[Any]:
    return list(metric.data.data_points)


def _usage(name: str) -> Dict[str, Any]:
    item = replay_item(name)
    if item.is_sse:
        events = item.events()
        last = events[-1]
        return (last.get("response") or last)["usage"]
    return item.json()["usage"]


def replay_item(name: str) -> Any:
    from .cassettes import ROOT, load

    return load(ROOT / name)[0]


async def _call(kind: str, is_async: bool, status: int = 200) -> Any:
    source = {"chat": CHAT, "chat_stream": CHAT_STREAM, "responses": RESPONSES, "responses_stream": RESPONSES_STREAM,
              "embeddings": EMBEDDINGS, "completions": COMPLETIONS}[kind]
    body = mock_openai.recorded(source) if status == 200 else b'{"error": {"message": "no", "type": "x"}}'
    client = mock_openai.client(mock_openai.responder(body, status=status), is_async,
                                base_url="http://localhost:8000/v1")
    if kind.startswith("chat"):
        result = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                                stream=kind.endswith("stream"))
    elif kind.startswith("responses"):
        result = client.responses.create(model="gpt-4o-mini", input="hi", stream=kind.endswith("stream"))
    elif kind == "embeddings":
        result = client.embeddings.create(model="text-embedding-3-small", input="hi")
    else:
        result = client.completions.create(model="davinci-002", prompt="hi")
    if is_async:
        result = await result
    if kind.endswith("stream"):
        return [c async for c in result] if is_async else list(result)
    return result


def _response_model(kind: str) -> str:
    return _response_field(kind, "model")


def _response_field(kind: str, key: str) -> Any:
    item = replay_item({"chat": CHAT, "chat_stream": CHAT_STREAM, "responses": RESPONSES,
                        "responses_stream": RESPONSES_STREAM, "embeddings": EMBEDDINGS,
                        "completions": COMPLETIONS}[kind])
    if item.is_sse:
        last = item.events()[-1]
        return (last.get("response") or last).get(key) or (item.events()[0].get("response") or {}).get(key)
    return item.json().get(key)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("kind", ["chat", "chat_stream", "responses", "responses_stream", "embeddings", "completions"])
async def test_duration_and_tokens(kind, is_async, instrument, metric_reader):
    await _call(kind, is_async)
    found = metrics(metric_reader)
    operation = {"embeddings": "embeddings", "completions": "text_completion"}.get(kind, "chat")
    request_model = {"embeddings": "text-embedding-3-small", "completions": "davinci-002"}.get(kind, "gpt-4o-mini")
    base = {sc.OPERATION_NAME: operation, sc.PROVIDER_NAME: "openai", sc.REQUEST_MODEL: request_model,
            sc.RESPONSE_MODEL: _response_model(kind), sc.SERVER_ADDRESS: "localhost", sc.SERVER_PORT: 8000}
    tier = _response_field(kind, "service_tier")
    if tier:  # semconv: openai.response.service_tier is a recommended metric attribute
        base[sc.OPENAI_RESPONSE_SERVICE_TIER] = tier

    duration = found[DURATION]
    assert duration.unit == "s"
    (point,) = points(duration)
    assert dict(point.attributes) == base
    assert point.count == 1 and point.sum > 0
    assert tuple(point.explicit_bounds) == DURATION_BUCKETS

    tokens = found[TOKENS]
    assert tokens.unit == "{token}"
    by_type = {p.attributes[sc.TOKEN_TYPE]: p for p in points(tokens)}
    usage = _usage({"chat": CHAT, "chat_stream": CHAT_STREAM, "responses": RESPONSES,
                    "responses_stream": RESPONSES_STREAM, "embeddings": EMBEDDINGS, "completions": COMPLETIONS}[kind])
    want_input = usage.get("prompt_tokens", usage.get("input_tokens"))
    want_output = usage.get("completion_tokens", usage.get("output_tokens"))
    assert by_type["input"].sum == want_input
    if kind == "embeddings":
        assert set(by_type) == {"input"}
    else:
        assert by_type["output"].sum == want_output
    for token_type, p in by_type.items():
        assert dict(p.attributes) == {**base, sc.TOKEN_TYPE: token_type}
        assert tuple(p.explicit_bounds) == TOKEN_BUCKETS and p.count == 1

    if kind.endswith("stream"):
        (first,) = points(found[TTFC])
        assert found[TTFC].unit == "s"
        assert dict(first.attributes) == base
        assert tuple(first.explicit_bounds) == DURATION_BUCKETS
        assert 0 <= first.sum <= point.sum
        per_chunk = points(found[TPOC])
        assert found[TPOC].unit == "s"
        assert per_chunk and all(dict(p.attributes) == base for p in per_chunk)
        assert all(tuple(p.explicit_bounds) == CHUNK_BUCKETS for p in per_chunk)
        assert sum(p.sum for p in per_chunk) <= point.sum
        # one point per chunk after the first (semconv)
        recorded = replay_item({"chat_stream": CHAT_STREAM, "responses_stream": RESPONSES_STREAM}[kind])
        assert sum(p.count for p in per_chunk) == len(recorded.events()) - 1
    else:
        # streaming-only metrics are not reported for calls that do not stream
        assert TTFC not in found or not points(found[TTFC])
        assert TPOC not in found or not points(found[TPOC])


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("kind", ["chat", "responses", "embeddings", "completions"])
async def test_error_type_on_failure(kind, is_async, instrument, metric_reader):
    with pytest.raises(openai.NotFoundError):
        await _call(kind, is_async, status=404)
    found = metrics(metric_reader)
    (point,) = points(found[DURATION])
    assert point.attributes[sc.ERROR_TYPE] == "openai.NotFoundError"
    assert point.attributes[sc.PROVIDER_NAME] == "openai"
    assert sc.RESPONSE_MODEL not in point.attributes  # no response, no response model
    assert TOKENS not in found or not points(found[TOKENS])


def test_azure_provider_in_metrics(instrument, metric_reader):
    from .cassettes import interactions

    item = next(i for i in interactions("/embeddings") if "azure" in i.id and i.status == 200)
    client = openai.AzureOpenAI(api_key="k", azure_endpoint="https://test-resource.openai.azure.com",
                                azure_deployment="test-deployment", api_version="2024-02-01", max_retries=0)
    with replay.use(item):
        client.embeddings.create(**item.request)
    (point,) = points(metrics(metric_reader)[DURATION])
    assert point.attributes[sc.PROVIDER_NAME] == "azure.ai.openai"
    assert point.attributes[sc.SERVER_ADDRESS] == "test-resource.openai.azure.com"
    assert point.attributes[sc.SERVER_PORT] == 443


@pytest.mark.parametrize("how", ["keyword", "environment"])
async def test_per_chunk_metric_can_be_turned_off(how, tracer_provider, meter_provider, metric_reader, monkeypatch):
    """time_per_output_chunk costs one SDK histogram point per chunk; it can be dropped, the rest stays."""
    from cylestio_monitor.instrumentation import OpenAIInstrumentor

    kwargs = {}
    if how == "keyword":
        kwargs["per_chunk_metrics"] = False
    else:
        monkeypatch.setenv("CYLESTIO_PER_CHUNK_METRICS", "false")
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, **kwargs)
    try:
        await _call("chat_stream", False)
    finally:
        instrumentor.uninstrument()
    found = metrics(metric_reader)
    assert points(found[TTFC]) and points(found[DURATION])
    assert TPOC not in found or not points(found[TPOC])
