"""The scanner: rules compiled once into a linear-time engine, findings with masked values.

No OpenTelemetry, no ``openai``: a pure function of text. Matching runs in two stages:

1. a *pre-filter* tells which rules can match at all, in one pass over the UTF-8 bytes
   (Hyperscan when installed, else one RE2 ``Set``; both linear in the text);
2. only those rules run their own RE2 regex to get exact spans, then their validators
   (Luhn, IBAN mod-97, entropy, ...) and allow-list.

RE2 guarantees linear time (no backtracking), so hostile input cannot stall a span
processor. Texts longer than ``max_chars`` are scanned up to the cap and the result says
``truncated``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Sequence, Tuple

import re2

from ._rules import Rule, builtin_rules, severity_rank

__all__ = ["DEFAULT_MAX_CHARS", "Finding", "ScanResult", "Scanner", "default_scanner", "mask"]

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


def _hyperscan_pattern(pattern: str) -> bytes:
    # Hyperscan has no named groups; capturing groups are fine (ignored).
    return pattern.replace("(?P<", "(?<").encode()


class _Hyperscan:
    """Pre-filter: Hyperscan database in pre-filter + single-match mode, one scratch per thread."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        import hyperscan

        self._hs = hyperscan
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        flags = hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY
        self._db.compile(
            expressions=[_hyperscan_pattern(r.pattern) for r in rules],
            ids=list(range(len(rules))),
            elements=len(rules),
            flags=flags,
        )
        self._local = threading.local()

    def candidates(self, data: bytes) -> List[int]:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._hs.Scratch(self._db)
        hits: List[int] = []
        self._db.scan(data, match_event_handler=_collect, context=hits, scratch=scratch)
        return hits


def _collect(rule_index: int, _from: int, _to: int, _flags: int, hits: Any) -> None:
    hits.append(rule_index)


class _Re2Set:
    def __init__(self, rules: Sequence[Rule]) -> None:
        opts = re2.Options()
        opts.max_mem = 256 << 20
        self._set = re2.Set.SearchSet(opts)
        for r in rules:
            self._set.Add(r.pattern.encode())
        self._set.Compile()
        self._all = list(range(len(rules)))

    def candidates(self, data: bytes) -> List[int]:
        hits = self._set.Match(data)
        # None = the DFA ran out of memory on this text: confirm every rule (still linear)
        return self._all if hits is None else list(hits)


class _Keywords:
    """Pre-filter on lower-case keywords only (rules without keywords always run)."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._always = [i for i, r in enumerate(rules) if not r.keywords]
        self._kw = [(i, r.keywords) for i, r in enumerate(rules) if r.keywords]

    def candidates(self, data: bytes) -> List[int]:
        low = data.lower()
        out = list(self._always)
        for i, kws in self._kw:
            for k in kws:
                if k.encode() in low:
                    out.append(i)
                    break
        return out


ENGINES = ("hyperscan", "re2set", "keywords")


def _make_prefilter(engine: str, rules: Sequence[Rule]) -> Tuple[Any, str]:
    if engine == "auto":
        try:
            return _Hyperscan(rules), "hyperscan"
        except ImportError:
            return _Re2Set(rules), "re2set"
    if engine == "hyperscan":
        return _Hyperscan(rules), engine
    if engine == "re2set":
        return _Re2Set(rules), engine
    if engine == "keywords":
        return _Keywords(rules), engine
    raise ValueError(f"unknown engine {engine!r}; expected 'auto' or one of {ENGINES}")


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
        self.rules: Tuple[Rule, ...] = tuple(chosen)
        self.max_chars = max_chars
        self._compiled = []
        for r in self.rules:
            try:
                rx = re2.compile(r.pattern.encode())
            except re2.error as exc:
                raise ValueError(f"rule {r.id!r}: invalid RE2 pattern: {exc}") from None
            group = rx.groupindex.get(b"value", 0)
            self._compiled.append((r, rx, group))
        self._prefilter: Any = None
        self.engine: str = "none"
        if self.rules:
            self._prefilter, self.engine = _make_prefilter(engine, self.rules)

    def scan(self, text: str) -> ScanResult:
        """Scan ``text``; findings are sorted by offset, one per span and category."""
        if not text or self._prefilter is None:
            return _EMPTY
        truncated = len(text) > self.max_chars
        if truncated:
            text = text[: self.max_chars]
        data = text.encode("utf-8", "surrogatepass")
        hits = self._prefilter.candidates(data)
        if not hits:
            return ScanResult((), truncated, len(text))
        ascii_only = len(data) == len(text)
        raw: List[Tuple[int, int, Rule, int]] = []
        for i in hits:
            rule, rx, group = self._compiled[i]
            for m in rx.finditer(data):
                bs, be = m.start(group), m.end(group)
                if bs < 0 or be <= bs:
                    continue
                if ascii_only:
                    s, e = bs, be
                else:
                    s = len(data[:bs].decode("utf-8", "ignore"))
                    e = s + len(data[bs:be].decode("utf-8", "ignore"))
                value = text[s:e]
                if rule.accepts(value):
                    raw.append((s, e, rule, i))
        return ScanResult(_resolve(raw, text), truncated, len(text))


def _resolve(raw: List[Tuple[int, int, Rule, int]], text: str) -> Tuple[Finding, ...]:
    """Keep one finding per overlapping group within a category (priority, length, rule order)."""
    raw.sort(key=lambda t: (-t[2].priority, -(t[1] - t[0]), t[0], t[3]))
    kept: List[Tuple[int, int, Rule, int]] = []
    for s, e, rule, i in raw:
        if any(k[2].category == rule.category and s < k[1] and k[0] < e for k in kept):
            continue
        kept.append((s, e, rule, i))
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
