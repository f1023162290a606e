"""Real openai clients over a mock HTTP transport serving recorded bodies.

For cases no cassette replay covers (call styles, errors, odd chunks). Works with the
httpx flavour the installed SDK uses (``httpx`` for openai 1.x/2.x, ``httpx2`` for 3.x).
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, List, Optional

import openai

from .cassettes import ROOT, load

_base = importlib.import_module("openai._base_client")
httpx: Any = getattr(_base, "httpx2", None) or importlib.import_module("httpx")

Handler = Callable[[Any], Any]


def recorded(cassette: str, index: int = 0) -> bytes:
    """The decoded response body of a recorded interaction (path relative to tests/cassettes)."""
    return load(ROOT / cassette)[index].body


def responder(body: bytes, status: int = 200, content_type: Optional[str] = None) -> Handler:
    """A transport handler answering every request with ``body``; requests are kept in ``.requests``."""
    if content_type is None:
        content_type = "text/event-stream" if body.lstrip().startswith(b"data:") else "application/json"
    requests: List[Any] = []

    def handle(request: Any) -> Any:
        request.read()
        requests.append(request)
        return httpx.Response(status, headers={"content-type": content_type}, content=body)

    handle.requests = requests  # type: ignore[attr-defined]
    return handle


def client(handler: Handler, is_async: bool = False, cls: Any = None, **kwargs: Any) -> Any:
    transport = httpx.MockTransport(handler)
    if cls is None:
        cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    http_client = (httpx.AsyncClient if is_async else httpx.Client)(transport=transport)
    kwargs.setdefault("api_key", "sk-test-key-not-real")
    kwargs.setdefault("base_url", "https://api.openai.com/v1")
    kwargs.setdefault("max_retries", 0)
    return cls(http_client=http_client, **kwargs)
