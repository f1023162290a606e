"""The scanner: rules compiled once into a linear-time engine, findings with masked values.

No OpenTelemetry, no ``openai``: a pure function of text. By definition a rule's findings are
its RE2 regex's matches over the whole text (the ``value`` group, else the whole match) that
pass its allow-list and validators; the engines (:mod:`._engine`) only avoid running regexes
that cannot match. The default one, Hyperscan, finds in one pass over the text which rules
match and where their first match ends, so RE2 runs only for those rules and only from near
that point; its results are identical to running every rule over the whole text (the ``re2``
engine), which ``tests/security/test_engine_equivalence.py`` checks.

RE2 and Hyperscan guarantee linear time (no backtracking), so hostile input cannot stall a
span processor. Texts longer than ``max_chars`` are scanned up to the cap and the result says
``truncated``.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ._engine import ENGINES, Raw, make_engine
from ._rules import Rule, builtin_rules, severity_rank
from ._scoring import split_score_rules

__all__ = ["DEFAULT_MAX_CHARS", "ENGINES", "Finding", "ScanResult", "Scanner", "default_scanner", "mask"]

DEFAULT_MAX_CHARS = 512 * 1024
_VERBATIM = ("dangerous_command", "prompt_injection")


def mask(value: str, category: str = "secret") -> str:
    """A display form of a matched value that never contains the value itself.

    Secrets, PII and custom matches keep at most 4 characters at each end
    (``sk-p...9XyZ``) and only when the value is long enough that this hides most of it.
    Dangerous commands and injection phrases are not secret: up to 40 characters are shown.
    """
    value = " ".join(value.split())
    if category in _VERBATIM:
        return value if len(value) <= 40 else value[:37] + "..."
    n = len(value)
    if n >= 16:
        return f"{value[:4]}...{value[-4:]}"
    if n >= 10:
        return f"{value[:2]}...{value[-2:]}"
    return "*" * min(n, 8)


@dataclass(frozen=True)
class Finding:
    """One match. ``start``/``end`` are code-point offsets into the scanned text."""

    category: str
    type: str
    rule_id: str
    severity: str
    start: int
    end: int
    masked: str

    def to_dict(self) -> dict:
        return {
            "category": self.category,
            "type": self.type,
            "rule_id": self.rule_id,
            "severity": self.severity,
            "start": self.start,
            "end": self.end,
            "masked": self.masked,
        }


@dataclass(frozen=True)
class ScanResult:
    findings: Tuple[Finding, ...]
    truncated: bool = False
    scanned_chars: int = 0

    def __bool__(self) -> bool:
        return bool(self.findings)

    def __iter__(self) -> Any:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)


_EMPTY = ScanResult(())


class Scanner:
    """Compiled rules. Thread-safe; build once and reuse.

    ``categories`` restricts the rules to those categories; ``extra_rules`` (e.g. from
    :func:`custom_rules`) are added to ``rules`` (default: the built-in rules).
    """

    def __init__(
        self,
        rules: Optional[Iterable[Rule]] = None,
        *,
        extra_rules: Iterable[Rule] = (),
        categories: Optional[Iterable[str]] = None,
        max_chars: int = DEFAULT_MAX_CHARS,
        engine: str = "auto",
    ) -> None:
        chosen = list(builtin_rules() if rules is None else rules) + list(extra_rules)
        if categories is not None:
            wanted = set(categories)
            chosen = [r for r in chosen if r.category in wanted]
        ids = [r.id for r in chosen]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate rule ids: {sorted(dupes)}")
        if max_chars <= 0:
            raise ValueError("max_chars must be positive")
        chosen, self._scoring = split_score_rules(chosen)  # [[scores]] rules: a post-pass (_scoring.py)
        self.rules: Tuple[Rule, ...] = tuple(chosen)
        self.max_chars = max_chars
        cues = [cue.pattern for score in self._scoring.rules for cue in score.cues]
        self._engine: Any = None
        if self.rules or cues:
            self._engine = make_engine(engine, self.rules, cues)
            if cues:  # cues of a score that cannot reach its threshold on a text are not confirmed
                gate, first = [], 0
                for score in self._scoring.rules:
                    gate.append((score.threshold, [(first + j, c.weight) for j, c in enumerate(score.cues)]))
                    first += len(score.cues)
                self._engine.set_cue_gate(gate)
        # The engine also tells which score cues occur; the score post-pass asks its RE2 Set
        # the same question (`Set.Match(data)`: indices of the cue patterns that match), so the
        # Set is fronted by one that answers from the engine's result for the text being scanned.
        self._cues_present = threading.local()
        cue_set = getattr(self._scoring, "_set", None)
        if cues and cue_set is not None and hasattr(cue_set, "Match"):
            setattr(self._scoring, "_set", _KnownCues(cue_set, self._cues_present))

    @property
    def engine(self) -> str:
        """The engine scanning now (``auto`` may start with ``re2set`` while Hyperscan compiles)."""
        return "none" if self._engine is None else str(self._engine.name)

    def scan(self, text: str) -> ScanResult:
        """Scan ``text``; findings are sorted by offset, one per span and category."""
        if not text or self._engine is None:
            return _EMPTY
        truncated = len(text) > self.max_chars
        if truncated:
            text = text[: self.max_chars]
        raw, cues = self._engine.scan(text)
        result = ScanResult(_resolve(raw, text) if raw else (), truncated, len(text))
        if not self._scoring:
            return result
        if cues is None:
            return self._scoring.apply(result, text)
        if not cues:  # no cue present: every score is 0, below its (positive) threshold
            return result
        self._cues_present.value = (text.encode("utf-8", "surrogatepass"), cues)
        try:
            return self._scoring.apply(result, text)
        finally:
            self._cues_present.value = None


class _KnownCues:
    """An RE2 ``Set`` of the score cues that answers from the engine's result when it has one."""

    def __init__(self, cue_set: Any, known: threading.local) -> None:
        self._set = cue_set
        self._known = known

    def Match(self, data: bytes) -> Any:
        known = getattr(self._known, "value", None)
        if known is not None and known[0] == data:
            return list(known[1])
        return self._set.Match(data)


def _resolve(raw: List[Raw], text: str) -> Tuple[Finding, ...]:
    """Keep one finding per overlapping group within a category (priority, length, rule order).

    Greedy in that order: a match is kept unless it overlaps one already kept in its category.
    The kept spans of a category are disjoint, so one look-up in their sorted starts tells
    (O(log n) per match, not a comparison with every kept one).
    """
    if len(raw) == 1:  # nothing to resolve (the common case of a short message with a finding)
        s, e, r, _ = raw[0]
        return (Finding(r.category, r.type, r.id, r.severity, s, e, mask(text[s:e], r.category)),)
    raw.sort(key=lambda t: (-t[2].priority, t[0] - t[1], t[0], t[3]))
    kept: List[Raw] = []
    if len(raw) <= 8:  # a few matches: comparing with each kept one is cheaper than the bookkeeping
        for item in raw:
            s, e, rule, _ = item
            category = rule.category
            for ks, ke, kr, _ in kept:
                if ks < e and s < ke and kr.category == category:
                    break
            else:
                kept.append(item)
    else:
        spans: Dict[str, Tuple[List[int], List[int]]] = {}
        for item in raw:
            s, e, rule, _ = item
            starts_ends = spans.get(rule.category)
            if starts_ends is None:
                starts_ends = spans[rule.category] = ([], [])
            starts, ends = starts_ends
            j = bisect_left(starts, e)  # kept spans starting before e: starts[:j]; the last ends last
            if j and ends[j - 1] > s:
                continue
            starts.insert(j, s)
            ends.insert(j, e)
            kept.append(item)
    kept.sort(key=lambda t: (t[0], t[1]))
    return tuple(
        Finding(r.category, r.type, r.id, r.severity, s, e, mask(text[s:e], r.category)) for s, e, r, _ in kept
    )


def highest_severity(findings: Iterable[Finding]) -> Optional[str]:
    best: Optional[str] = None
    for f in findings:
        if best is None or severity_rank(f.severity) > severity_rank(best):
            best = f.severity
    return best


_default: Optional[Scanner] = None
_default_lock = threading.Lock()


def default_scanner() -> Scanner:
    """A process-wide scanner with the built-in rules (built on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Scanner()
    return _default
