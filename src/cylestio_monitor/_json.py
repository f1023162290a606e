"""Compact JSON for content attributes, with the C encoder built once (private)."""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

__all__ = ["compact_encoder"]


class _Probe:
    def __str__(self) -> str:
        return "probe"


def _not_native(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON-native")


def compact_encoder(default: Optional[Callable[[Any], Any]] = None) -> Callable[[Any], str]:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=default)`` with one
    C encoder built once, not a ``JSONEncoder`` and an encoder per call (half the time for a
    chat's messages). Plain ``json.dumps`` if the C encoder is missing or disagrees on a probe.

    Without ``check_circular`` (content is built from request and response bodies the SDK has
    already (de)serialised): a cycle raises ``RecursionError`` instead of ``ValueError``; callers
    catch both alike. Without ``default``, values that are not JSON-native raise ``TypeError``.
    """

    def slow(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=default)

    try:
        from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]

        if c_make_encoder is None:
            return slow
        enc = c_make_encoder(None, default or _not_native, encode_basestring, None, ":", ",", False, False, True)

        def fast(value: Any) -> str:
            return "".join(enc(value, 0))

        probe: list = [{"a": "é\n\"x", "b": [1, 2.5, None, True, {"c": float("inf")}], "d": {}, "e": (1, "t")},
                       "\ud800", {1: "k"}, "s"]
        if default is not None:
            probe.append(object.__new__(_Probe))
        return fast if fast(probe) == slow(probe) and fast("x") == slow("x") else slow
    except Exception:  # another Python's C encoder: the documented API
        return slow
