"""Calls that are not inference (models, files, batches, stored responses, ...) pass through
untouched: no span, no metric, the SDK's own result. Only ``POST /responses`` is traced,
not ``/responses/{id}`` and its sub-resources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from . import mock_openai

_BODIES = {
    "/v1/models": {"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model", "created": 1,
                                               "owned_by": "openai"}]},
    "/v1/files": {"object": "list", "data": [], "has_more": False},
    "/v1/batches": {"object": "list", "data": [], "has_more": False},
    "/v1/responses/resp_123/input_items": {"object": "list", "data": [], "has_more": False,
                                           "first_id": None, "last_id": None},
}
_RESPONSE = json.loads(mock_openai.recorded("otel-contrib/test_responses_create_basic[content_mode0].yaml"))


def _handler(seen: list) -> Any:
    def handle(request: Any) -> Any:
        request.read()
        seen.append((request.method, request.url.path))
        path = request.url.path
        if path == "/v1/models/gpt-4o-mini":
            body: Any = _BODIES["/v1/models"]["data"][0]
        elif path.startswith("/v1/responses/"):
            body = _BODIES.get(path, _RESPONSE)
        elif path == "/v1/models/ft-model":
            body = {"id": "ft-model", "object": "model", "deleted": True}
        else:
            body = _BODIES[path]
        return mock_openai.httpx.Response(200, json=body)

    return handle


CALLS = {
    "models.list": lambda c: c.models.list(),
    "models.retrieve": lambda c: c.models.retrieve("gpt-4o-mini"),
    "models.delete": lambda c: c.models.delete("ft-model"),
    "files.list": lambda c: c.files.list(),
    "batches.list": lambda c: c.batches.list(),
    "responses.retrieve": lambda c: c.responses.retrieve("resp_123"),
    "responses.cancel": lambda c: c.responses.cancel("resp_123"),
    "responses.input_items.list": lambda c: c.responses.input_items.list("resp_123"),
    "models.with_raw_response.list": lambda c: c.models.with_raw_response.list(),
}


async def _run(call: Any, client: Any, is_async: bool) -> Any:
    result = call(client)
    if is_async:
        result = await result
    return result


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", list(CALLS))
async def test_not_traced(name, is_async, instrument, span_exporter, metric_reader):
    seen: list = []
    client = mock_openai.client(_handler(seen), is_async)
    result = await _run(CALLS[name], client, is_async)
    assert result is not None
    assert len(seen) == 1  # the call really went out
    assert span_exporter.get_finished_spans() == ()
    data = metric_reader.get_metrics_data()
    points = [m for rm in (data.resource_metrics if data else ()) for sm in rm.scope_metrics for m in sm.metrics]
    assert points == []


async def test_inference_next_to_it_is_traced(instrument, span_exporter):
    """The same client, one listing call and one inference call: exactly one span."""
    seen: list = []
    handler = _handler(seen)

    def handle(request: Any) -> Any:
        if request.url.path == "/v1/responses":
            request.read()
            seen.append((request.method, request.url.path))
            return mock_openai.httpx.Response(200, json=_RESPONSE)
        return handler(request)

    client = mock_openai.client(handle)
    client.models.list()
    client.responses.create(model="gpt-4o-mini", input="Say this is a test")
    client.responses.retrieve("resp_123")
    spans = span_exporter.get_finished_spans()
    assert [s.name for s in spans] == ["chat gpt-4o-mini"]
    assert [m for m, _ in seen] == ["GET", "POST", "GET"]
