"""Provider and server attributes from the client: Azure clients are ``azure.ai.openai``,
every other base URL (local servers, proxies) stays ``openai``; ``server.address`` and
``server.port`` are always set, default ports included."""

from __future__ import annotations

import openai
import pytest

from cylestio_monitor.instrumentation import _semconv as sc

from . import mock_openai, replay
from .cassettes import interactions

CHAT_BODY = "otel-contrib/test_chat_completion_no_content.yaml"
AZURE_EMBEDDING = next(i for i in interactions("/embeddings") if "azure" in i.id and i.status == 200)


def _chat(client, is_async: bool):
    result = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    return replay.run(result) if is_async else result


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("base_url", "address", "port"),
    [
        ("https://api.openai.com/v1", "api.openai.com", 443),
        ("http://localhost:8000/v1", "localhost", 8000),
        ("https://llm-proxy.example.com/openai/v1", "llm-proxy.example.com", 443),
        ("http://gateway.internal/v1", "gateway.internal", 80),
        ("https://10.0.0.7:8443/v1", "10.0.0.7", 8443),
    ],
)
def test_openai_compatible_base_urls(base_url, address, port, is_async, instrument, span_exporter):
    handler = mock_openai.responder(mock_openai.recorded(CHAT_BODY))
    _chat(mock_openai.client(handler, is_async, base_url=base_url), is_async)
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes[sc.PROVIDER_NAME] == "openai"
    assert span.attributes[sc.SERVER_ADDRESS] == address
    assert span.attributes[sc.SERVER_PORT] == port
    assert str(handler.requests[0].url).startswith(base_url)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_azure_chat_over_mock_transport(is_async, instrument, span_exporter):
    handler = mock_openai.responder(mock_openai.recorded(CHAT_BODY))
    cls = openai.AsyncAzureOpenAI if is_async else openai.AzureOpenAI
    client = mock_openai.client(handler, is_async, cls=cls, base_url=None,
                                azure_endpoint="https://my-resource.openai.azure.com", api_version="2024-10-21")
    _chat(client, is_async)
    (span,) = span_exporter.get_finished_spans()
    assert span.attributes[sc.PROVIDER_NAME] == "azure.ai.openai"
    assert span.attributes[sc.SERVER_ADDRESS] == "my-resource.openai.azure.com"
    assert span.attributes[sc.SERVER_PORT] == 443
    # the SDK routed the call to the deployment URL; the span is still one chat span
    assert "/openai/deployments/gpt-4o-mini/chat/completions" in str(handler.requests[0].url)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_azure_embeddings_cassette(is_async, instrument, span_exporter):
    cls = openai.AsyncAzureOpenAI if is_async else openai.AzureOpenAI
    client = cls(api_key="test_azure_api_key", azure_endpoint="https://test-resource.openai.azure.com",
                 azure_deployment="test-deployment", api_version="2024-02-01", max_retries=0)
    body = AZURE_EMBEDDING.request
    with replay.use(AZURE_EMBEDDING):
        result = client.embeddings.create(model=body["model"], input=body["input"],
                                          encoding_format=body["encoding_format"])
        result = replay.run(result) if is_async else result
    (span,) = span_exporter.get_finished_spans()
    attrs = span.attributes
    assert attrs[sc.PROVIDER_NAME] == "azure.ai.openai"
    assert attrs[sc.SERVER_ADDRESS] == "test-resource.openai.azure.com"
    assert attrs[sc.SERVER_PORT] == 443
    assert attrs[sc.REQUEST_MODEL] == body["model"]  # the deployment name the caller gave
    assert attrs[sc.RESPONSE_MODEL] == AZURE_EMBEDDING.json()["model"]  # the model behind it
    assert result.model == AZURE_EMBEDDING.json()["model"]
