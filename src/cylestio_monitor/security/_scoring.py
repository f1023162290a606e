"""Weighted cue scores: the post-pass that evaluates ``[[scores]]`` rules (:class:`ScoreRule`).

Some attacks have no single tell-tale phrase: an in-the-wild jailbreak is a persona with "no
ethics", "never refuses", "stay in character" and a token game, each of which also occurs in
harmless text on its own; an instruction hidden in an e-mail is an ordinary sentence that is
out of place there. A score rule adds up the weights of the cues present in a text and reports
one finding when the sum reaches its threshold.

Matching stays linear: all cues of all score rules are compiled into one RE2 ``Set`` that tells,
in one pass, which cues occur; only the heaviest cue present of a firing rule is searched again
for its span. The scanner calls :meth:`CueScoring.apply` on each result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, List, Optional, Sequence, Tuple

import re2

from ._engine import utf8_chars
from ._rules import Rule, ScoreRule

if TYPE_CHECKING:  # pragma: no cover
    from .scanner import Finding, ScanResult

__all__ = ["CueScoring", "split_score_rules"]


def split_score_rules(rules: Iterable[Rule]) -> Tuple[List[Rule], CueScoring]:
    """Pattern rules for the engine, and the score rules compiled for the post-pass."""
    plain: List[Rule] = []
    scores: List[ScoreRule] = []
    for r in rules:
        if isinstance(r, ScoreRule):
            scores.append(r)
        else:
            plain.append(r)
    return plain, CueScoring(scores)


# A cue with an ``allow`` list is confirmed on at most this many of its matches (bounded work).
_MAX_TRIES = 8


class _CompiledCue:
    __slots__ = ("allow", "group", "min_count", "rule", "rx", "weight")

    def __init__(
        self, rule: int, weight: float, rx: Any, group: int, allow: Tuple[Any, ...], min_count: int = 1
    ) -> None:
        self.rule = rule
        self.weight = weight
        self.rx = rx
        self.group = group
        self.allow = allow
        self.min_count = min_count

    @property
    def confirmed(self) -> bool:
        """Whether the Set's "it matches" must be confirmed match by match (allow list, count)."""
        return bool(self.allow) or self.min_count > 1

    def first(self, data: bytes) -> Optional[Tuple[int, int]]:
        """Byte span of the first counting match (its ``value`` group) when at least
        ``min_count`` matches count, or None. At most a few matches are tried (bounded work)."""
        pos = 0
        found: Optional[Tuple[int, int]] = None
        counted = 0
        for _ in range(_MAX_TRIES):
            m = self.rx.search(data, pos)
            if m is None:
                return None
            bs, be = m.start(self.group), m.end(self.group)
            if bs < 0:
                bs, be = m.start(), m.end()
            if not self.allow or not any(a.search(data[bs:be]) for a in self.allow):
                counted += 1
                found = found or (bs, be)
                if counted >= self.min_count:
                    return found
            pos = max(be, m.start() + 1)
            if pos > len(data):
                return None
        return None


class CueScoring:
    """Compiled score rules; ``bool()`` is false when there are none (then :meth:`apply` is free)."""

    def __init__(self, rules: Sequence[ScoreRule]) -> None:
        self.rules: Tuple[ScoreRule, ...] = tuple(rules)
        self._cues: List[_CompiledCue] = []  # flat, in Set order
        self._names: List[str] = []
        for ri, rule in enumerate(self.rules):
            for cue in rule.cues:
                try:
                    rx = re2.compile(cue.pattern.encode())
                    allow = tuple(re2.compile(a.encode()) for a in cue.allow)
                except re2.error as exc:
                    raise ValueError(f"score {rule.id!r}, cue {cue.name!r}: invalid RE2 pattern: {exc}") from None
                group = rx.groupindex.get(b"value", rx.groupindex.get("value", 0))  # type: ignore[call-overload]
                self._cues.append(_CompiledCue(ri, cue.weight, rx, group, allow, cue.min_count))
                self._names.append(cue.name)
        self._set: Optional[Any] = None
        if self._cues:
            opts = re2.Options()
            opts.max_mem = 64 << 20
            s = re2.Set.SearchSet(opts)
            for rule in self.rules:
                for cue in rule.cues:
                    s.Add(cue.pattern.encode())
            s.Compile()
            self._set = s

    def __bool__(self) -> bool:
        return bool(self._cues)

    def _evaluate(self, data: bytes) -> List[Tuple[float, List[Tuple[float, int, Optional[Tuple[int, int]]]]]]:
        """Per rule: the sum of the weights of the cues present and (weight, cue, byte span) of each."""
        out: List[Tuple[float, List[Tuple[float, int, Optional[Tuple[int, int]]]]]] = [(0.0, []) for _ in self.rules]
        if not self._cues or not data:
            return out
        assert self._set is not None
        # indices of the cues that match (the Python binding returns None for "none")
        hits = self._set.Match(data) or ()
        for i in sorted(hits):
            cue = self._cues[i]
            span: Optional[Tuple[int, int]] = None
            if cue.confirmed:  # cues with an allow list or a count are confirmed match by match
                span = cue.first(data)
                if span is None:
                    continue
            total, present = out[cue.rule]
            present.append((cue.weight, i, span))
            out[cue.rule] = (total + cue.weight, present)
        return out

    def score(self, text: str) -> List[Tuple[ScoreRule, float, List[str]]]:
        """Every score rule with its sum and the names of the cues present (for tuning)."""
        data = text.encode("utf-8", "surrogatepass") if text else b""
        return [
            (self.rules[ri], total, [self._names[i] for _, i, _ in present])
            for ri, (total, present) in enumerate(self._evaluate(data))
        ]

    def findings(self, text: str) -> List[Finding]:
        """One finding per score rule whose cues present reach its threshold."""
        from .scanner import Finding, mask

        if not self._cues or not text:
            return []
        data = text.encode("utf-8", "surrogatepass")
        ascii_only = len(data) == len(text)
        out = []
        for ri, (total, present) in enumerate(self._evaluate(data)):
            rule = self.rules[ri]
            if not present or total + 1e-9 < rule.threshold:
                continue
            _, top, span = max(present, key=lambda p: (p[0], -p[1]))  # the heaviest cue (then the first)
            span = span or self._cues[top].first(data)
            if span is None:  # pragma: no cover - the Set said it matches
                continue
            bs, be = span
            if ascii_only:
                s, e = bs, be
            else:
                s = utf8_chars(data[:bs])
                e = s + utf8_chars(data[bs:be])
            if e <= s:
                e = min(len(text), s + 1)
            out.append(Finding(rule.category, rule.type, rule.id, rule.severity, s, e, mask(text[s:e], rule.category)))
        return out

    def apply(self, result: ScanResult, text: str) -> ScanResult:
        """``result`` plus the score findings on the scanned part of ``text``.

        A score finding that overlaps a pattern finding of its category is not added (one
        finding per span and category, as for pattern rules).
        """
        if not self._cues:
            return result
        from .scanner import ScanResult

        scanned = text[: result.scanned_chars] if result.scanned_chars else text
        extra = [
            f
            for f in self.findings(scanned)
            if not any(g.category == f.category and f.start < g.end and g.start < f.end for g in result.findings)
        ]
        if not extra:
            return result
        merged = tuple(sorted((*result.findings, *extra), key=lambda f: (f.start, f.end)))
        return ScanResult(merged, result.truncated, result.scanned_chars or len(scanned))
