"""Replay a recorded interaction through the real openai client (vcrpy, no network)."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from typing import Any, Dict, Tuple
from urllib.parse import urlsplit

import openai
import vcr
from vcr.serializers import yamlserializer

from .cassettes import Interaction


def _body_json(r1: Any, r2: Any) -> None:
    def decode(body: Any) -> Any:
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        try:
            return json.loads(body) if body else None
        except ValueError:
            return body

    assert decode(r1.body) == decode(r2.body)


class _OneInteraction:
    """A vcr persister for ``"<cassette>.yaml#<index>"``: just that one recorded interaction,
    so cassettes that repeat the same request with different answers replay exactly."""

    @staticmethod
    @functools.lru_cache(maxsize=64)
    def _load(path: str) -> Tuple[Any, Any]:
        from vcr.serialize import deserialize

        with open(path) as handle:
            return deserialize(handle.read(), yamlserializer)

    @classmethod
    def load_cassette(cls, cassette_path: str, serializer: Any) -> Tuple[Any, Any]:
        path, _, index = str(cassette_path).partition("#")
        requests, responses = cls._load(path)
        if not index:
            return requests, responses
        i = int(index)
        return [requests[i]], [responses[i]]

    @staticmethod
    def save_cassette(cassette_path: str, cassette_dict: Any, serializer: Any) -> None:
        raise RuntimeError("replay only: recording is disabled")


VCR = vcr.VCR(record_mode="none", match_on=("method", "host", "port", "path", "body_json"))
VCR.register_matcher("body_json", _body_json)
VCR.register_persister(_OneInteraction)


def use(item: Interaction) -> Any:
    """Context manager replaying exactly ``item``."""
    return VCR.use_cassette(f"{item.cassette}#{item.index}", allow_playback_repeats=True)


def base_url(item: Interaction) -> str:
    parts = urlsplit(item.uri)
    path = parts.path
    return f"{parts.scheme}://{parts.netloc}{path[: path.find('/v1') + 3]}"


def client(item: Interaction, is_async: bool, **kwargs: Any) -> Any:
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return cls(api_key="test_openai_api_key", base_url=base_url(item), max_retries=0, **kwargs)


def split_kwargs(method: Any, body: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Body keys the SDK method accepts as keywords, and the rest (sent as extra_body)."""
    accepted = set(inspect.signature(method).parameters)
    known = {k: v for k, v in body.items() if k in accepted}
    extra = {k: v for k, v in body.items() if k not in accepted}
    return known, extra


def run(coro_or_value: Any) -> Any:
    return asyncio.run(coro_or_value) if inspect.iscoroutine(coro_or_value) else coro_or_value
