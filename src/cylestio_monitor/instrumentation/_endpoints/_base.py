"""What every endpoint handler provides, and small pure helpers they share.

An endpoint handler turns a request body (the ``json_data`` dict the SDK is about to send)
and a response object (or a stream of chunks) into span attributes and semconv messages.
Handlers are pure functions of their inputs: they never import ``openai`` and never touch
a span, so they are tested on plain data.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..._channel import GenAIContent
from .. import _semconv as sc

__all__ = ["Endpoint", "StreamState", "get", "number_attrs", "usage_attributes"]

Attributes = Dict[str, Any]


# type -> "is a Mapping". ``isinstance(x, typing.Mapping)`` costs ~1 us (a Python-level
# check); this runs ~10 times per stream chunk, so the answer is remembered per class. A
# proxy (whose ``__class__`` is not its type) is never cached: its answer depends on what it
# wraps. Bounded, so classes made on the fly are not kept alive without limit.
_IS_MAPPING: Dict[type, bool] = {dict: True}
_IS_MAPPING_MAX = 512


def get(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` for mappings, ``obj.key`` for objects (pydantic models), else ``default``."""
    if obj is None:
        return default
    cls = type(obj)
    is_mapping = _IS_MAPPING.get(cls)
    if is_mapping is None:
        is_mapping = isinstance(obj, Mapping)
        if cls is obj.__class__ and len(_IS_MAPPING) < _IS_MAPPING_MAX:
            _IS_MAPPING[cls] = is_mapping
    if is_mapping:
        return obj.get(key, default)
    return getattr(obj, key, default)


def number_attrs(body: Mapping[str, Any], pairs: Tuple[Tuple[str, str], ...], attrs: Attributes) -> None:
    for key, name in pairs:
        value = body.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attrs[name] = value


def usage_attributes(
    usage: Any, input_key: str, output_key: str, input_details: str, output_details: str
) -> Attributes:
    """Token counts from a usage object/dict; details objects may be missing or None."""
    attrs: Attributes = {}
    if usage is None:
        return attrs
    value = get(usage, input_key)
    if isinstance(value, int):
        attrs[sc.USAGE_INPUT_TOKENS] = value
    value = get(usage, output_key)
    if isinstance(value, int):
        attrs[sc.USAGE_OUTPUT_TOKENS] = value
    value = get(get(usage, input_details), "cached_tokens")
    if isinstance(value, int):
        attrs[sc.USAGE_CACHE_READ_INPUT_TOKENS] = value
    value = get(get(usage, output_details), "reasoning_tokens")
    if isinstance(value, int):
        attrs[sc.USAGE_REASONING_OUTPUT_TOKENS] = value
    return attrs


def set_str(attrs: Attributes, name: str, value: Any) -> None:
    if isinstance(value, str) and value:
        attrs[name] = value


class StreamState:
    """Accumulates what a stream says, chunk by chunk. Per-chunk work must stay tiny."""

    __slots__ = ()

    def on_chunk(self, chunk: Any) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def complete(self) -> bool:
        """True once the stream's own end marker (a finish reason, a completed event) was seen."""
        raise NotImplementedError  # pragma: no cover - interface

    def attributes(self) -> Attributes:  # pragma: no cover - interface
        raise NotImplementedError

    def output_messages(self) -> Optional[List[dict]]:
        return None


class Endpoint:
    """One inference endpoint: URL path -> operation and the extractors."""

    operation: str = ""
    api_type: Optional[str] = None
    #: whether the endpoint can stream (then ``gen_ai.request.stream`` is always set)
    streams: bool = True

    def request_attributes(self, body: Mapping[str, Any]) -> Attributes:
        raise NotImplementedError  # pragma: no cover - interface

    def request_content(self, body: Mapping[str, Any]) -> GenAIContent:
        return GenAIContent()

    def response_attributes(self, response: Any) -> Attributes:
        raise NotImplementedError  # pragma: no cover - interface

    def output_messages(self, response: Any) -> Optional[List[dict]]:
        return None

    def new_stream_state(self, want_content: bool) -> StreamState:
        raise NotImplementedError  # pragma: no cover - interface
