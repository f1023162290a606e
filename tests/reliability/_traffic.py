"""Recorded traffic served through ``httpx2.MockTransport``, and one way to call and compare.

The reliability tests drive the real openai client against canned HTTP responses (the
recorded bodies in ``tests/cassettes`` or hand-made malformed ones) and compare what the
user gets with and without our instrumentation.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

import httpx2
import openai

from ..cassettes import ROOT, Interaction, load

#: the API key used by every test client: no span attribute or event may ever contain it
API_KEY = "sk-proj-RELIABILITY0test0KEY0Zq9XyZ7wVb3Nc5Md1Lf8Kg2Jh4"
BASE_URL = "http://mock.test:8080/v1"


def recorded(name: str, index: int = 0) -> Interaction:
    return load(ROOT / "otel-contrib" / f"{name}.yaml")[index]


PLAIN = recorded("test_chat_completion_with_content")
STREAM = recorded("test_chat_completion_streaming")
TOOLS_STREAM = recorded("test_chat_completion_multiple_tools_streaming_with_content")
MULTI_STREAM = recorded("test_chat_completion_multiple_choices_streaming")
NOT_FOUND = recorded("test_chat_completion_404")

Reply = Union[httpx2.Response, Callable[[httpx2.Request], httpx2.Response], BaseException]


def response(status: int, body: Union[bytes, str, dict, list], *, sse: bool = False,
             headers: Optional[Dict[str, str]] = None) -> httpx2.Response:
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    ctype = "text/event-stream" if sse else "application/json"
    return httpx2.Response(status, content=body, headers={"content-type": ctype, **(headers or {})})


def from_interaction(item: Interaction) -> httpx2.Response:
    return response(item.status, item.body, sse=item.is_sse)


def sse_body(events: Iterable[Any], done: bool = True) -> bytes:
    lines = [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events]
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode("utf-8")


class Server:
    """A mock transport handler: serves ``replies`` in order (the last one repeats) and
    records every request it receives (thread-safe)."""

    def __init__(self, *replies: Reply) -> None:
        self.replies: Tuple[Reply, ...] = replies
        self.requests: List[httpx2.Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            n = len(self.requests)
            self.requests.append(request)
        reply = self.replies[min(n, len(self.replies) - 1)]
        if isinstance(reply, BaseException):
            raise reply
        if callable(reply) and not isinstance(reply, httpx2.Response):
            return reply(request)
        # a fresh Response each time: a Response's stream can be read only once
        assert isinstance(reply, httpx2.Response)
        return httpx2.Response(reply.status_code, content=reply.content, headers=reply.headers)

    def bodies(self) -> List[Any]:
        return [json.loads(r.content) for r in self.requests]


def client(handler: Callable[[httpx2.Request], httpx2.Response], is_async: bool, **kwargs: Any) -> Any:
    kwargs.setdefault("max_retries", 0)
    transport = httpx2.MockTransport(handler)
    if is_async:
        return openai.AsyncOpenAI(api_key=API_KEY, base_url=BASE_URL,
                                  http_client=httpx2.AsyncClient(transport=transport), **kwargs)
    return openai.OpenAI(api_key=API_KEY, base_url=BASE_URL, http_client=httpx2.Client(transport=transport), **kwargs)


def dump(value: Any) -> Any:
    """A comparable, plain form of what a call returned."""
    if isinstance(value, list):
        return [dump(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump()
    return value


async def call(c: Any, is_async: bool, mode: str = "create", **kwargs: Any) -> Any:
    """Make one chat call the way a user would and return what they got (streams read fully).

    ``mode``: ``create`` (streamed when ``stream=True``), ``raw`` (``with_raw_response`` then
    ``parse()``), ``context`` (a stream read inside ``with``).
    """
    completions = c.chat.completions
    if mode == "raw":
        raw = completions.with_raw_response.create(**kwargs)
        raw = await raw if is_async else raw
        parsed = raw.parse()
        return await parsed if is_async else parsed
    result = completions.create(**kwargs)
    if is_async:
        result = await result
    if not kwargs.get("stream"):
        return result
    if mode == "context":
        if is_async:
            async with result as stream:
                return [chunk async for chunk in stream]
        with result as stream:
            return list(stream)
    if is_async:
        return [chunk async for chunk in result]
    return list(result)


async def outcome(c: Any, is_async: bool, mode: str = "create", **kwargs: Any) -> Tuple[Any, ...]:
    """("return", plain value) or ("raise", type, message, status code, the exception)."""
    try:
        value = await call(c, is_async, mode, **kwargs)
    except Exception as exc:
        return ("raise", type(exc), str(exc), getattr(exc, "status_code", None), exc)
    return ("return", dump(value))


def same(a: Tuple[Any, ...], b: Tuple[Any, ...]) -> bool:
    """Two outcomes are the same to the user (the exception objects themselves differ)."""
    return a[:4] == b[:4]


def kwargs_of(item: Interaction) -> Dict[str, Any]:
    return dict(item.request)
