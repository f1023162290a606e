"""Content capture mode and the JSON form of semconv messages."""

from __future__ import annotations

import enum
import json
import os
from typing import Any, Optional, Union

from .._json import compact_encoder

__all__ = ["ENV_CAPTURE_CONTENT", "ContentMode", "dumps", "resolve_mode"]

ENV_CAPTURE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


class ContentMode(enum.Enum):
    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"

    @property
    def in_span(self) -> bool:
        return self in (ContentMode.SPAN_ONLY, ContentMode.SPAN_AND_EVENT)

    @property
    def in_event(self) -> bool:
        return self in (ContentMode.EVENT_ONLY, ContentMode.SPAN_AND_EVENT)


_ALIASES = {"TRUE": ContentMode.SPAN_ONLY, "1": ContentMode.SPAN_ONLY, "FALSE": ContentMode.NO_CONTENT,
            "0": ContentMode.NO_CONTENT, "": ContentMode.NO_CONTENT}


def _parse(value: Union[str, bool, ContentMode]) -> ContentMode:
    if isinstance(value, ContentMode):
        return value
    if isinstance(value, bool):
        return ContentMode.SPAN_ONLY if value else ContentMode.NO_CONTENT
    key = str(value).strip().upper()
    if key in _ALIASES:
        return _ALIASES[key]
    return ContentMode(key)  # ValueError for anything else


def resolve_mode(explicit: Union[str, bool, ContentMode, None] = None) -> ContentMode:
    """Keyword argument over environment over the default ``NO_CONTENT``.

    A bad keyword argument is the caller's bug: ``ValueError``. A bad environment value
    falls back to ``NO_CONTENT`` (the safe choice) and is logged by the caller.
    """
    if explicit is not None:
        try:
            return _parse(explicit)
        except ValueError:
            raise ValueError(
                f"capture_content must be one of {[m.value for m in ContentMode]} or a bool, got {explicit!r}"
            ) from None
    raw: Optional[str] = os.environ.get(ENV_CAPTURE_CONTENT)
    if raw is None:
        return ContentMode.NO_CONTENT
    try:
        return _parse(raw)
    except ValueError:
        return ContentMode.NO_CONTENT


_encode = compact_encoder(default=str)


def dumps(value: Any) -> str:
    """Compact JSON for a content attribute; anything not JSON-native becomes a string."""
    text = _encode(value)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # lone surrogates are not UTF-8: OTLP would drop the whole attribute. Escape them as JSON \uXXXX.
            text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=str)
    return text
