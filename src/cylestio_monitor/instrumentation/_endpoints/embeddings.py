"""``/embeddings``: create (the SDK's only call), plain or raw.

* ``gen_ai.request.encoding_formats`` is what goes on the wire. openai >= 1.x asks for
  ``base64`` when the caller names no format (and decodes it back to floats for them), so
  that is what the attribute says in that case: it is the request the server saw.
* ``gen_ai.embeddings.dimension.count``: the request's ``dimensions`` when given (known
  even if the call fails), then the length of the first vector returned, which is the
  true count whether or not ``dimensions`` was sent. A base64 vector is measured without
  decoding it (4 bytes per float32).
* Content: each input string is one text part of a single user message; inputs given as
  token ids are recorded as a ``tokens`` part with their count, never the ids.
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional

from ..._channel import GenAIContent
from .. import _semconv as sc
from ._base import Attributes, Endpoint, StreamState, get, set_str

__all__ = ["EmbeddingsEndpoint", "input_parts", "vector_length"]


def _is_int_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, int) for v in value)


def input_parts(value: Any) -> List[dict]:
    """``input``: a string, a list of strings, token ids, or a list of token-id lists."""
    if value is None:
        return []
    if isinstance(value, str) or _is_int_list(value):
        items: List[Any] = [value]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = [str(value)]
    return [
        {"type": "text", "content": item} if isinstance(item, str)
        else {"type": "tokens", "count": len(item) if isinstance(item, (list, tuple)) else None}
        for item in items
    ]


def vector_length(embedding: Any) -> Optional[int]:
    """Number of dimensions of one returned embedding (a float list or a base64 string)."""
    if isinstance(embedding, str):
        text = embedding.strip()
        padding = len(text) - len(text.rstrip("="))
        return (len(text) * 3 // 4 - padding) // 4
    try:
        return len(embedding)
    except TypeError:
        return None


class EmbeddingsEndpoint(Endpoint):
    operation = sc.OP_EMBEDDINGS

    def request_attributes(self, body: Mapping[str, Any]) -> Attributes:
        attrs: Attributes = {}
        set_str(attrs, sc.REQUEST_MODEL, body.get("model"))
        fmt = body.get("encoding_format")
        if isinstance(fmt, str) and fmt:
            attrs[sc.REQUEST_ENCODING_FORMATS] = [fmt]
        dimensions = body.get("dimensions")
        if isinstance(dimensions, int) and not isinstance(dimensions, bool):
            attrs[sc.EMBEDDINGS_DIMENSION_COUNT] = dimensions
        return attrs

    def request_content(self, body: Mapping[str, Any]) -> GenAIContent:
        return GenAIContent(input_messages=[{"role": "user", "parts": input_parts(body.get("input"))}])

    def response_attributes(self, response: Any) -> Attributes:
        attrs: Attributes = {}
        set_str(attrs, sc.RESPONSE_MODEL, get(response, "model"))
        tokens = get(get(response, "usage"), "prompt_tokens")
        if isinstance(tokens, int):
            attrs[sc.USAGE_INPUT_TOKENS] = tokens
        data = get(response, "data")
        if data:
            length = vector_length(get(data[0], "embedding"))
            if length:
                attrs[sc.EMBEDDINGS_DIMENSION_COUNT] = length
        return attrs

    def new_stream_state(self, want_content: bool) -> StreamState:  # pragma: no cover - never streamed
        raise TypeError("embeddings are not streamed")
