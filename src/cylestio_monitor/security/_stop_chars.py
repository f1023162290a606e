"""Stop characters of a rule pattern (private; see :mod:`._engine`): characters no match of
the pattern contains except as its last, so the RE2 confirm of a rule can start just after the
last one before Hyperscan's end offset."""

from __future__ import annotations

import re
from typing import Any, Set

from ._hs_patterns import _parsed, _sre_parse

_NON_ASCII = 0x80  # stands for every non-ASCII code point (one byte 0xFF in the folded text)
_CANDIDATES = frozenset(range(0x81)) - {0}  # ASCII (but NUL) and _NON_ASCII
_SPACE = frozenset(b"\t\n\v\f\r ")  # RE2's \s, and \v to be safe
_DIGIT = frozenset(b"0123456789")
_WORD = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
# stop characters worth an rfind, most useful first (at most _MAX_STOPS are kept)
_STOP_ORDER = (_NON_ASCII, *b"\n;(){}\"'<>[]#@&|`=,: \t")
_MAX_STOPS = 6
_POSIX_CLASS = re.compile(r"\[:\^?[a-z]+:\]")  # [[:alpha:]]: Python reads a class of ':', 'a', ...


class _Unsure(Exception):
    pass


_OTHER_CASE = {c: ord(chr(c).swapcase()) for c in range(0x80) if chr(c).isalpha()}


def _with_case(chars: Set[int]) -> Set[int]:
    return chars | {_OTHER_CASE[c] for c in chars if c in _OTHER_CASE}


def _category(cat: Any) -> Set[int]:
    name = str(cat)
    if name.endswith("NOT_DIGIT"):
        return set(_CANDIDATES - _DIGIT)
    if name.endswith("NOT_SPACE"):
        return set(_CANDIDATES - (_SPACE - {0x0B}))
    if name.endswith("NOT_WORD"):
        return set(_CANDIDATES - _WORD)
    if name.endswith("DIGIT"):
        return set(_DIGIT)
    if name.endswith("SPACE"):
        return set(_SPACE)
    if name.endswith("WORD"):
        return set(_WORD)
    raise _Unsure(name)


def _class_members(items: Any) -> Set[int]:
    out: Set[int] = set()
    negate = False
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            out.add(av if av < 0x80 else _NON_ASCII)
        elif name == "RANGE":
            lo, hi = av
            out.update(range(max(lo, 1), min(hi, 0x7F) + 1))
            if hi >= 0x80:
                out.add(_NON_ASCII)
        elif name == "CATEGORY":
            out |= _category(av)
        else:
            raise _Unsure(name)
    out = _with_case(out)
    if negate:
        # a negated class of letters also drops their other case under (?i): keep every case
        out = set(_CANDIDATES) - out
        out = _with_case(out) | {_NON_ASCII}
    return out


def _consumed(items: Any) -> Set[int]:
    """Every candidate character a match of ``items`` (sre parse data) can contain (a superset)."""
    out: Set[int] = set()
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            out.add(av if av < 0x80 else _NON_ASCII)
            if av in _OTHER_CASE:
                out.add(_OTHER_CASE[av])
        elif name in ("NOT_LITERAL", "ANY"):
            out |= set(_CANDIDATES)
        elif name == "IN":
            out |= _class_members(av)
        elif name == "AT":
            pass
        elif name == "SUBPATTERN":
            out |= _consumed(av[-1])
        elif name == "ATOMIC_GROUP":
            out |= _consumed(av)
        elif name == "BRANCH":
            for b in av[1]:
                out |= _consumed(b)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if av[1] != 0:
                out |= _consumed(av[2])
        else:
            raise _Unsure(name)
    return out


def _width(items: Any) -> int:
    return int(_sre_parse.SubPattern(_sre_parse.State(), list(items)).getwidth()[1])


def _branch_consumed(items: Any) -> Set[int]:
    """``_consumed`` of a top-level alternative, but for its last character: the trailing items
    that take at most one character together (``(?:[^a-z]|$)``, ``\\b``) are left out."""
    items = list(items)
    k = len(items)
    while k > 0 and _width(items[k - 1 :]) <= 1:
        k -= 1
    return _consumed(items[:k])


def stop_characters(pattern: str) -> bytes:
    """Characters (bytes of the folded text) that no match of ``pattern`` contains except as its
    last character; ``0xFF`` stands for every non-ASCII character. Empty when unsure.

    Every RE2 match ends at or after Hyperscan's first end offset ``to``. If ``text[j]`` is such a
    character and ``j <= to - 2``, no match contains ``j`` (it would have to end at ``j + 1``), so
    none starts at or before ``j`` and ends after it: RE2 may start at ``j + 1`` and iterate
    exactly as from the start of the text. Computed with Python's regex parser on the rule's
    pattern (RE2's ``\\d \\s \\w`` are ASCII; case folding to and from non-ASCII characters
    - K and long s - sends a text to the reference engine before this is used).
    """
    if _POSIX_CLASS.search(pattern) or any(x in pattern for x in ("{,", "\\Q", "\\C", "\\p", "\\P", "\\x{")):
        return b""  # constructs Python's parser reads otherwise than RE2 (or not at all)
    try:
        data = list(_parsed(pattern).data)
        if len(data) == 1 and str(data[0][0]) == "SUBPATTERN" and data[0][1][0] is None:
            data = list(data[0][1][-1])
        if len(data) == 1 and str(data[0][0]) == "BRANCH":
            consumed: Set[int] = set()
            for b in data[0][1][1]:
                consumed |= _branch_consumed(b)
        else:
            consumed = _branch_consumed(data)
    except Exception:  # unsure: an unknown construct, a parse Python refuses
        return b""
    stops = [c for c in _STOP_ORDER if c not in consumed]
    return bytes(0xFF if c == _NON_ASCII else c for c in stops[:_MAX_STOPS])
