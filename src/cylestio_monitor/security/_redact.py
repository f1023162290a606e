"""Scanning and redacting GenAI content (semconv message shape), as Python objects or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Collection, Iterator, List, Tuple

from .scanner import Finding, Scanner

__all__ = ["Located", "placeholder", "redact_text", "scan_content"]

# keys of the message shape whose values are structure, not content
_SKIP_KEYS = frozenset({"role", "type", "id", "name", "finish_reason", "mime_type", "modality"})


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


def _walk(obj: Any, field: str = "") -> Iterator[Tuple[Any, Any, str, str]]:
    """Yield (container, key, field name, string) for every content string in ``obj``."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in _SKIP_KEYS and isinstance(v, str):
                continue
            if isinstance(v, str):
                yield obj, k, str(k), v
            elif isinstance(v, (dict, list)):
                yield from _walk(v, str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            if isinstance(v, str):
                yield obj, i, field or "content", v
            elif isinstance(v, (dict, list)):
                yield from _walk(v, field)


def scan_content(
    value: Any,
    location: str,
    scanner: Scanner,
    redact: Collection[str] = (),
) -> Tuple[Any, List[Located], List[Finding], bool]:
    """Scan a content value (list of messages / parts, JSON string of one, or plain text).

    Returns ``(redacted value, located findings, redacted findings, truncated)``; the value
    keeps its form (a JSON string stays a JSON string). Message and part indexes follow the
    semconv shape: ``[{"role", "parts": [...]}, ...]`` for messages, a list of parts for
    system instructions, a list of tool definitions.
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
    if isinstance(obj, dict):
        obj = [obj]
        single = True
    else:
        single = False
    found: List[Located] = []
    redacted: List[Finding] = []
    truncated = False
    changed = False
    for mi, msg in enumerate(obj):
        parts = msg.get("parts") if isinstance(msg, dict) and isinstance(msg.get("parts"), list) else None
        units = enumerate(parts) if parts is not None else [(0, msg)]
        for pi, part in units:
            if isinstance(part, str):
                holder: Iterator[Tuple[Any, Any, str, str]] = iter([(parts, pi, "content", part)])
            else:
                holder = _walk(part)
            for container, key, field, text in list(holder):
                res = scanner.scan(text)
                truncated |= res.truncated
                if not res.findings:
                    continue
                idx_msg, idx_part = (mi, pi) if parts is not None or location != "system_instructions" else (0, mi)
                found.extend(Located(f, location, idx_msg, idx_part, field) for f in res)
                new, used = redact_text(text, res.findings, redact)
                if used:
                    container[key] = new
                    redacted.extend(used)
                    changed = True
    result: Any = obj[0] if single else obj
    if as_json:
        result = json.dumps(result, ensure_ascii=False) if changed else value
    return result, found, redacted, truncated
