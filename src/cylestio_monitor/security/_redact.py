"""Scanning and redacting GenAI content (semconv message shape), as Python objects or JSON."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Collection, Dict, Iterator, List, Optional, Tuple, Union

from .._json import compact_encoder
from .scanner import Finding, Scanner, ScanResult

__all__ = ["Located", "NotJSON", "ScanCache", "dumps_native", "placeholder", "redact_text", "scan_content"]

# keys of the message shape whose values are structure, not content
_SKIP_KEYS = frozenset({"role", "type", "id", "name", "finish_reason", "mime_type", "modality"})


class NotJSON(Exception):
    """Content objects that are not plain JSON (tuples, custom objects): scan their JSON form instead."""


_encode = compact_encoder()  # no default: only JSON-native objects encode


def dumps_native(value: Any) -> str:
    """The compact JSON the instrumentation writes for a content attribute
    (``instrumentation._content.dumps``), but ``TypeError`` instead of ``default=str`` for
    values that are not JSON-native: only plain JSON objects may stand in for their attribute."""
    text = _encode(value)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text


class ScanCache:
    """``Scanner.scan`` with a bounded LRU of results keyed by the exact text.

    Multi-turn chats re-send the whole conversation on every call, so the system prompt and
    the history are scanned once instead of on every turn. Results are immutable (frozen
    dataclasses of tuples), so a cached result is shared safely. Bounded in entries and in
    total characters held; texts longer than ``max_text`` are never cached. Thread-safe.
    """

    def __init__(
        self, scanner: Scanner, maxsize: int = 2048, max_text: int = 16384, max_total: int = 4 * 1024 * 1024
    ) -> None:
        if maxsize < 0 or max_text < 0 or max_total < 0:
            raise ValueError("cache bounds must be >= 0")
        self.scanner = scanner
        self.maxsize = maxsize
        self.max_text = max_text
        self.max_total = max_total
        self.hits = 0
        self.misses = 0
        self._total = 0
        self._data: OrderedDict[str, ScanResult] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    @property
    def total_chars(self) -> int:
        return self._total

    def scan(self, text: str) -> ScanResult:
        n = len(text)
        if n > self.max_text or not self.maxsize:
            return self.scanner.scan(text)
        data = self._data
        with self._lock:
            res = data.get(text)
            if res is not None:
                data.move_to_end(text)
                self.hits += 1
                return res
        res = self.scanner.scan(text)
        with self._lock:
            self.misses += 1
            if text not in data:
                data[text] = res
                self._total += n
                while len(data) > self.maxsize or self._total > self.max_total:
                    old, _ = data.popitem(last=False)
                    self._total -= len(old)
        return res

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._total = 0


def placeholder(finding: Finding) -> str:
    return f"[REDACTED:{finding.type}]"


@dataclass(frozen=True)
class Located:
    """A finding with where it was found."""

    finding: Finding
    location: str
    message_index: int
    part_index: int
    field: str


def redact_text(text: str, findings: Collection[Finding], categories: Collection[str]) -> Tuple[str, List[Finding]]:
    """Replace the spans of ``findings`` of ``categories`` by typed placeholders."""
    if len(findings) <= 1:  # none or one (the usual cases): no sorting, no overlap checks
        for f in findings:
            if f.category in categories:
                return f"{text[: f.start]}{placeholder(f)}{text[f.end :]}", [f]
        return text, []
    chosen = sorted((f for f in findings if f.category in categories), key=lambda f: f.start)
    if not chosen:
        return text, []
    out, pos, used = [], 0, []
    for f in chosen:
        if f.start < pos:  # overlaps a previous redaction of another category
            continue
        out.append(text[pos : f.start])
        out.append(placeholder(f))
        pos = f.end
        used.append(f)
    out.append(text[pos:])
    return "".join(out), used


def _walk(obj: Any, field: str = "", strict: bool = False) -> Iterator[Tuple[Any, Any, str, str]]:
    """Yield (container, key, field name, string) for every content string in ``obj``.

    ``strict``: raise :class:`NotJSON` on anything that is not plain JSON (whose JSON form
    could hold text this walk would not see)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in _SKIP_KEYS and isinstance(v, str):
                continue
            if isinstance(v, str):
                yield obj, k, str(k), v
            elif isinstance(v, (dict, list)):
                yield from _walk(v, str(k), strict)
            elif strict and not (v is None or isinstance(v, (int, float))):
                raise NotJSON
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            if isinstance(v, str):
                yield obj, i, field or "content", v
            elif isinstance(v, (dict, list)):
                yield from _walk(v, field, strict)
            elif strict and not (v is None or isinstance(v, (int, float))):
                raise NotJSON
    elif strict and not (obj is None or isinstance(obj, (int, float, str))):
        raise NotJSON


def _copy_tracking(node: Any, memo: Dict[int, Any]) -> Any:
    """A deep copy of the dicts and lists of ``node`` (other values shared), ``memo``: id(original)
    -> copy. A container met twice is copied once, so the copy shares what the original shares
    (an edit of a shared container shows wherever it occurs, as an in-place edit would)."""
    if not isinstance(node, (dict, list)):
        return node
    done = memo.get(id(node))
    if done is not None:
        return done
    if isinstance(node, dict):
        copied: Dict[Any, Any] = {}
        memo[id(node)] = copied
        for k, v in node.items():
            copied[k] = _copy_tracking(v, memo)
        return copied
    items: List[Any] = []
    memo[id(node)] = items
    for v in node:
        items.append(_copy_tracking(v, memo))
    return items


def scan_content(
    value: Any,
    location: str,
    scanner: Union[Scanner, ScanCache],
    redact: Collection[str] = (),
    strict: bool = False,
    copy: bool = False,
) -> Tuple[Any, List[Located], List[Finding], bool]:
    """Scan a content value (list of messages / parts, JSON string of one, or plain text).

    Returns ``(redacted value, located findings, redacted findings, truncated)``; the value
    keeps its form (a JSON string stays a JSON string). Message and part indexes follow the
    semconv shape: ``[{"role", "parts": [...]}, ...]`` for messages, a list of parts for
    system instructions, a list of tool definitions. ``scanner`` may be a :class:`ScanCache`.
    ``strict`` (Python objects only): raise :class:`NotJSON` on values that are not plain JSON.
    ``copy`` (Python objects): never modify ``value``; a redacted result is a new list whose
    elements with redactions are deep copies (the others are ``value``'s own elements), so
    only what changed is copied.
    """
    as_json = False
    obj = value
    if isinstance(value, str):
        try:
            obj = json.loads(value)
            as_json = isinstance(obj, (list, dict))
        except ValueError:
            obj = value
        if not as_json:
            obj = value
    if isinstance(obj, str):
        res = scanner.scan(obj)
        new, used = redact_text(obj, res.findings, redact)
        return new, [Located(f, location, 0, 0, "content") for f in res], used, res.truncated
    if strict and not isinstance(obj, (list, dict)):
        raise NotJSON
    if isinstance(obj, dict):
        obj = [obj]
        single = True
    else:
        single = False
    found: List[Located] = []
    redacted: List[Finding] = []
    truncated = False
    changed = False
    top = obj  # with ``copy``: the list the redacted elements go into (made on the first redaction)
    for mi, msg in enumerate(obj):
        memo: Optional[Dict[int, Any]] = None  # with ``copy``: this element's copy, by original id
        parts = msg.get("parts") if isinstance(msg, dict) and isinstance(msg.get("parts"), list) else None
        units = enumerate(parts) if parts is not None else [(0, msg)]
        for pi, part in units:
            holder: List[Tuple[Any, Any, str, str]]
            if isinstance(part, str):
                # a bare string part, or a bare string message (its container is the list itself)
                holder = [(parts, pi, "content", part) if parts is not None else (obj, mi, "content", part)]
            elif type(part) is dict and len(part) == 2 and type(part.get("type")) is str:
                text = part.get("content")  # a text part {"type": ..., "content": "..."}: what _walk yields
                holder = [(part, "content", "content", text)] if type(text) is str else list(_walk(part, "", strict))
            else:
                holder = list(_walk(part, "", strict))
            for container, key, field, text in holder:
                res = scanner.scan(text)
                truncated |= res.truncated
                if not res.findings:
                    continue
                idx_msg, idx_part = (mi, pi) if parts is not None or location != "system_instructions" else (0, mi)
                found.extend(Located(f, location, idx_msg, idx_part, field) for f in res)
                new, used = redact_text(text, res.findings, redact)
                if used:
                    if copy:
                        if top is obj:
                            top = list(obj)
                        if container is obj:  # a bare string message: the element itself
                            top[mi] = new
                        else:
                            if memo is None:
                                memo = {}
                                top[mi] = _copy_tracking(msg, memo)
                            memo[id(container)][key] = new
                    else:
                        container[key] = new
                    redacted.extend(used)
                    changed = True
    obj = top
    result: Any = obj[0] if single else obj
    if as_json:
        result = dumps_native(result) if changed else value
    return result, found, redacted, truncated
