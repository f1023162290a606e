"""Hyperscan expressions from the rules' RE2 patterns (private; see :mod:`._engine`).

Hyperscan scans a *folded* copy of the text (:func:`fold`: one byte per code point), so each
RE2 pattern is rewritten for it (:func:`hyperscan_expression`), and may be simplified to an
expression with a superset of its match *ends* (:func:`drop_leading_context`,
:func:`keep_tail_after_anything`, :func:`value_branches`): all the confirm relies on.
:func:`max_width` bounds how far back a match can start.
"""

from __future__ import annotations

import functools
import re
import warnings
from typing import Any, List, Optional, Tuple

# UTF-8 to one byte per code point: ASCII bytes as they are, every lead byte (0xC0-0xFF) 0xFF,
# every continuation byte (0x80-0xBF) deleted
_FOLD_UTF8 = bytes(range(128)) + b"\xff" * 128
_CONTINUATION = bytes(range(0x80, 0xC0))


def fold(text: str) -> bytes:
    """One byte per code point: ASCII as is, anything else ``0xFF``."""
    return fold_utf8(text.encode("utf-8", "surrogatepass"))


def fold_utf8(data: bytes) -> bytes:
    """:func:`fold` of the text whose UTF-8 (``surrogatepass``) encoding is ``data``: one
    ``bytes.translate`` that keeps ASCII, turns each lead byte into 0xFF and drops continuation
    bytes (7x faster than encoding to Latin-1 with an error handler for the rest)."""
    return data.translate(_FOLD_UTF8, _CONTINUATION)


class _Untranslatable(Exception):
    pass


_HEX = frozenset("0123456789abcdefABCDEF")
_PERL_CLASSES = frozenset("dDsSwW")


def _escape_cp(cp: int) -> str:
    ch = chr(cp)
    return ch if ch.isascii() and ch.isalnum() else f"\\x{cp:02x}"


def _read_escape(p: str, i: int) -> Tuple[Optional[int], str, int]:
    """Parse the escape at ``p[i] == '\\\\'``: (code point or None for a class/assertion, raw text, next index)."""
    if i + 1 >= len(p):
        raise _Untranslatable("trailing backslash")
    d = p[i + 1]
    if d == "x":
        if i + 2 < len(p) and p[i + 2] == "{":
            j = p.index("}", i + 3)
            return int(p[i + 3 : j], 16), p[i : j + 1], j + 1
        h = p[i + 2 : i + 4]
        if len(h) != 2 or not set(h) <= _HEX:
            raise _Untranslatable("bad \\x escape")
        return int(h, 16), p[i : i + 4], i + 4
    if d in "pPCQEXRKGgkNhHVu" or d.isdigit():
        # Unicode classes, any byte, quoting, octal/back-references, PCRE-only or RE2-only
        # classes: no byte-level rewrite that is sure to cover RE2's meaning
        raise _Untranslatable(f"\\{d}")
    simple = {"n": 10, "t": 9, "r": 13, "f": 12, "v": 11, "a": 7}
    if d in simple:
        return simple[d], p[i : i + 2], i + 2
    if d.isascii() and (d.isalnum() or d == "_"):
        return None, p[i : i + 2], i + 2  # \d \w \s \b \B \A \z ...
    return ord(d), p[i : i + 2], i + 2  # escaped punctuation (or a non-ASCII character)


def _rewrite_class(p: str, i: int) -> Tuple[str, int]:
    """Rewrite the character class starting at ``p[i] == '['``; returns (text, next index)."""
    j = i + 1
    negated = j < len(p) and p[j] == "^"
    if negated:
        j += 1
    parts: List[str] = []
    high = False  # a non-ASCII member (positive class: becomes \xff)
    first = True
    while True:
        if j >= len(p):
            raise _Untranslatable("unterminated class")
        c = p[j]
        if c == "]" and not first:
            j += 1
            break
        first = False
        if p.startswith("[:", j):
            k = p.index(":]", j + 2)
            parts.append(p[j : k + 2])
            j = k + 2
            continue
        lo, raw, j = _class_atom(p, j)
        if lo is None:  # \d \w \s and negations
            if raw[1] not in _PERL_CLASSES:
                raise _Untranslatable(f"{raw} in a class")
            parts.append(raw)
            continue
        hi: Optional[int] = lo
        if j + 1 < len(p) and p[j] == "-" and p[j + 1] != "]":
            hi, _, j = _class_atom(p, j + 1)
        if hi is None or hi < lo:
            raise _Untranslatable("reversed range")
        if hi < 0x80:
            parts.append(_escape_cp(lo) if lo == hi else f"{_escape_cp(lo)}-{_escape_cp(hi)}")
        else:
            if lo < 0x80:
                parts.append(f"{_escape_cp(lo)}-\\x7f")
            high = True
    if high and not negated:
        parts.append("\\xff")
    if not parts:
        # a negated class of non-ASCII characters only: on the folded text it matches anything
        return "[\\x00-\\xff]", j
    return "[" + ("^" if negated else "") + "".join(parts) + "]", j


def _class_atom(p: str, j: int) -> Tuple[Optional[int], str, int]:
    if p[j] == "\\":
        return _read_escape(p, j)
    return ord(p[j]), p[j], j + 1


_BOUNDED = re.compile(r"\{(\d+),(\d+)\}")  # applied to rule patterns only, never to text
_WIDEN_ABOVE = 8


_LEADING_FLAGS = re.compile(r"\(\?[a-zA-Z]+\)")  # applied to rule patterns only


def _class_end(p: str, i: int) -> int:
    """Index just past the character class opening at ``p[i] == '['``."""
    n = len(p)
    j = i + 1
    if j < n and p[j] == "^":
        j += 1
    if j < n and p[j] == "]":  # a leading ']' is a member
        j += 1
    while j < n and p[j] != "]":
        if p.startswith("[:", j):  # [:alpha:]
            k = p.find(":]", j + 2)
            if k < 0:
                raise _Untranslatable("unterminated class")
            j = k + 2
            continue
        j += 2 if p[j] == "\\" else 1
    if j >= n:
        raise _Untranslatable("unterminated class")
    return j + 1


def _group_end(p: str, i: int) -> int:
    """Index just past the group opening at ``p[i] == '('`` (escapes and classes skipped)."""
    depth = 0
    n = len(p)
    while i < n:
        c = p[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _class_end(p, i)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise _Untranslatable("unbalanced group")


def drop_leading_context(pattern: str) -> str:
    """``pattern`` without a leading context group such as ``(?:^|[^a-z0-9])`` or ``(?:\\b|...)``.

    Hyperscan is only asked *where matches end*: every match of ``X Y`` ends where a match of
    ``Y`` ends (its suffix), so dropping a leading ``X`` gives a superset of the end offsets,
    which is all the engine relies on (the RE2 confirm still runs the whole pattern). Only groups
    that open with a zero-width alternative (``^`` or ``\\b``), i.e. that describe what comes
    *before* the match proper, are dropped, and only when something that is not an alternation,
    a quantifier or the end follows them (else the rest could match the empty string).
    """
    flags = ""
    m = _LEADING_FLAGS.match(pattern)
    if m:
        flags, pattern = m.group(0), pattern[m.end() :]
    if not (pattern.startswith("(?:^|") or pattern.startswith("(?:\\b|")) or "\\Q" in pattern:
        return flags + pattern
    try:
        end = _group_end(pattern, 0)
    except _Untranslatable:
        return flags + pattern
    rest = pattern[end:]
    if not rest or rest[0] in "|)*+?{":
        return flags + pattern
    return flags + rest


def _top_level_split(p: str) -> List[str]:
    """``p`` split at its top-level ``|`` (escapes, classes and groups skipped)."""
    parts: List[str] = []
    start = i = 0
    n = len(p)
    while i < n:
        c = p[i]
        if c == "\\":
            i += 2
        elif c == "(":
            i = _group_end(p, i)
        elif c == "[":
            i = _class_end(p, i)
        else:
            if c == "|":
                parts.append(p[start:i])
                start = i + 1
            i += 1
    parts.append(p[start:])
    return parts


_FLAG_GROUP = re.compile(r"\(\?[a-zA-Z-]+\)")  # (?i), (?-i), ... in a rule pattern


def value_branches(pattern: str) -> str:
    """For a rule pattern ``A|B|...`` (or ``(?:A|B|...)``) of which only some alternatives have
    the ``value`` group: the alternation of those, else ``pattern``.

    A match in which ``value`` takes no part is not a finding: the other alternatives only
    consume look-alikes (``cache_key``, ``token_count``) so that the scan goes on after them. A
    rule has a finding only where an alternative with ``value`` matches, so Hyperscan need only
    look for those; when it finds one, the confirm runs the whole pattern from the start of the
    text (the look-alikes must be consumed as the reference does), so the engine applies this
    only to rules of unbounded width, which are confirmed from offset 0 anyway. Refused when an
    alternative sets flags (``(?i)`` inside a group reaches the alternatives after it).
    """
    flags = ""
    m = _LEADING_FLAGS.match(pattern)
    if m:
        flags, pattern = m.group(0), pattern[m.end() :]
    if "\\Q" in pattern or _FLAG_GROUP.search(pattern):
        return flags + pattern
    try:
        wrapped = pattern.startswith("(?:") and _group_end(pattern, 0) == len(pattern)
        parts = _top_level_split(pattern[3:-1] if wrapped else pattern)
    except _Untranslatable:
        return flags + pattern
    kept = [b for b in parts if "(?P<value>" in b]
    if not kept or len(kept) == len(parts):
        return flags + pattern
    return flags + "(?:" + "|".join(kept) + ")"


_ANYTHING = ("[\\s\\S]*?", "[\\s\\S]*")


def keep_tail_after_anything(pattern: str) -> str:
    """``pattern``'s part after its last top-level ``[\\s\\S]*`` (flags kept), else ``pattern``.

    A pattern ``X[\\s\\S]*Y`` with no top-level alternation matches only where ``Y`` ends a
    match: every match ends with a match of ``Y``. So Hyperscan can look for ``Y`` alone (a
    superset of the end offsets; the RE2 confirm runs the whole pattern). ``X`` is typically the
    costly part: a line anywhere in the text (``\\n[^\\n]*...``) before a closing tag ``Y``.
    Refused when the part dropped sets flags for what follows (a top-level ``(?i)``).
    """
    flags = ""
    m = _LEADING_FLAGS.match(pattern)
    if m:
        flags, pattern = m.group(0), pattern[m.end() :]
    if "\\Q" in pattern:  # quoted text: not scanned here
        return flags + pattern
    cut = -1
    i, n = 0, len(pattern)
    try:
        while i < n:
            c = pattern[i]
            if c == "|":
                return flags + pattern  # a top-level alternation: no common tail
            if c == "\\":
                i += 2
                continue
            if c == "(":
                if _LEADING_FLAGS.match(pattern, i):
                    return flags + pattern  # flags for the rest of the pattern
                i = _group_end(pattern, i)
                continue
            if c == "[":
                for token in _ANYTHING:
                    if pattern.startswith(token, i):
                        cut = i + len(token)
                        i = cut
                        break
                else:
                    i = _class_end(pattern, i)
                continue
            i += 1
    except _Untranslatable:
        return flags + pattern
    if cut < 0:
        return flags + pattern
    rest = pattern[cut:]
    if not rest or rest[0] in "|)*+?{":
        return flags + pattern
    return flags + rest


_QUANTIFIER = re.compile(r"(?:[*+?]|\{\d+(?:,\d*)?\})[?+]?")  # applied to rule patterns only


def _items(p: str) -> List[str]:
    """The top-level concatenation items of ``p`` (which has no top-level ``|``), each with its
    quantifier: ``a(?:b|c)+[de]\\s*`` gives ``a``, ``(?:b|c)+``, ``[de]``, ``\\s*``."""
    out: List[str] = []
    i, n = 0, len(p)
    while i < n:
        c = p[i]
        if c == "\\":
            if i + 1 >= n:
                raise _Untranslatable("trailing backslash")
            _, _, j = _read_escape(p, i)
        elif c == "(":
            j = _group_end(p, i)
        elif c == "[":
            j = _class_end(p, i)
        elif c in "|)":
            raise _Untranslatable("alternation or unbalanced group")
        else:
            j = i + 1
        m = _QUANTIFIER.match(p, j)
        if m:
            j = m.end()
        out.append(p[i:j])
        i = j
    return out


def leading_part(pattern: str) -> Optional[Tuple[str, int]]:
    """``(head, width)``: a pattern every match of ``pattern`` *starts with* a match of, and the
    longest match of that head (code points); ``None`` when there is none worth looking for.

    The head is the alternation of each top-level alternative's longest prefix of concatenation
    items with a bounded width (the keyword of ``keyword\\s*=\\s*value{12,}``), going into a
    plain group (``(?:...)``, ``(?P<name>...)``) that is not repeated when the prefix stops at it.
    Every match of ``pattern`` starts at some ``s`` with a match of the head ending at ``s + w``,
    ``w <= width``; so when Hyperscan's first end of the head is ``h``, no match starts before
    ``h - width``, and when the head does not occur, ``pattern`` cannot match. Refused for flags
    set inside the pattern (their reach is not a prefix matter) and for heads that can be empty.
    """
    flags = ""
    m = _LEADING_FLAGS.match(pattern)
    if m:
        flags, pattern = m.group(0), pattern[m.end() :]
    if "\\Q" in pattern or _FLAG_GROUP.search(pattern):
        return None
    try:
        body = _plain_group_body(pattern)
        head = _alternation_head(flags, pattern if body is None else body)
    except (_Untranslatable, ValueError):
        return None
    if head is None:
        return None
    head = flags + head
    width = max_width(head)
    if width is None or width == 0 or min_width(head) == 0:
        return None
    return head, width


def _plain_group_body(item: str) -> Optional[str]:
    """The body of ``item`` when it is one unrepeated ``(?:...)`` or ``(?P<name>...)`` group."""
    if item.startswith("(?:"):
        start = 3
    elif item.startswith("(?P<"):
        start = item.index(">") + 1
    else:
        return None
    if _group_end(item, 0) != len(item):
        return None
    return item[start:-1]


def _alternation_head(flags: str, pattern: str) -> Optional[str]:
    heads = []
    for alternative in _top_level_split(pattern):
        head = _items_head(flags, _items(alternative))
        if not head:
            return None
        heads.append(head)
    return "(?:" + "|".join(heads) + ")"


def _items_head(flags: str, items: List[str]) -> str:
    head = ""
    for item in items:
        if max_width(flags + head + item) is not None:
            head += item
            continue
        body = _plain_group_body(item)
        if body is not None:
            inner = _alternation_head(flags, body)
            if inner is not None:
                head += inner
        break
    return head


def min_width(pattern: str) -> int:
    """Shortest match of ``pattern`` in code points (0 when unsure)."""
    try:
        return int(_parsed(pattern).getwidth()[0])
    except Exception:
        return 0


def hyperscan_expression(pattern: str) -> bytes:
    """``pattern`` (RE2) rewritten for Hyperscan over the folded text; raises ``_Untranslatable``."""
    out: List[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            cp, raw, i = _read_escape(pattern, i)
            if cp is None:
                out.append(raw)
            elif cp >= 0x80:
                out.append("\\xff")
            else:
                out.append(_escape_cp(cp))
        elif c == "[":
            text, i = _rewrite_class(pattern, i)
            out.append(text)
        elif c == "{" and _BOUNDED.match(pattern, i):
            # {n,m} with a large m becomes {n,}: a superset that Hyperscan compiles and runs faster
            m = _BOUNDED.match(pattern, i)
            assert m is not None
            lo, hi = int(m.group(1)), int(m.group(2))
            out.append(f"{{{lo},}}" if hi > _WIDEN_ABOVE else m.group(0))
            i = m.end()
        elif pattern.startswith("(?P<", i):
            out.append("(?<")
            i += 4
        elif pattern.startswith("(?P=", i) or pattern.startswith("(?U", i) or pattern.startswith("(?-U", i):
            raise _Untranslatable("back-reference or ungreedy flag")
        elif ord(c) >= 0x80:
            out.append("\\xff")
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out).encode("ascii")


try:  # Python's own regex parser, used only on rule patterns (never on text) for widths
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_parse as _sre_parse  # type: ignore[no-redef]


def max_width(pattern: str) -> Optional[int]:
    """Longest match of ``pattern`` in code points, or ``None`` when unbounded or unsure.

    Computed by Python's regex parser, whose syntax agrees with RE2's for what rules use; the
    constructs where they disagree in a way that could make the width too small are refused.
    """
    if "{," in pattern or "\\Q" in pattern or "\\C" in pattern:
        return None  # RE2 reads "{,n}" literally, Python as {0,n}
    try:
        _, hi = _parsed(pattern).getwidth()
    except Exception:
        return None
    return hi if hi < 1 << 16 else None


@functools.lru_cache(maxsize=4096)
def _parsed(pattern: str) -> Any:
    """Python's parse of a rule pattern (shared by :func:`max_width` and :func:`stop_characters`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _sre_parse.parse(pattern)
