r"""Rules are data: loading, validating and building them.

A rules file is TOML (or JSON with the same structure)::

    [defaults]                 # optional, applies to every rule of the file
    category = "secret"
    severity = "high"

    [[rules]]
    id = "openai-project-key"          # unique
    type = "openai_api_key"            # finer tag, used in redaction placeholders
    severity = "critical"              # info | low | medium | high | critical
    pattern = '''\\bsk-proj-(?P<value>[A-Za-z0-9_-]{40,})'''   # RE2 syntax (linear time)
    keywords = ["sk-proj-"]            # optional, lower-case substrings, documentation/pre-filter
    validator = ["entropy"]            # optional: luhn, iban_mod97, us_ssn, public_ip, phone,
                                       #           entropy, password, not_placeholder
    allow = ['''EXAMPLE''']            # optional: regexes; a value matching one is not a finding
    priority = 0                       # optional: on overlapping matches of one category the
                                       #           higher priority (then the longer) wins

The reported span is the named group ``value`` when the pattern has one, else the whole match.
A match in which the ``value`` group takes no part is not a finding: a pattern can consume a
look-alike in an alternative without ``value`` listed first (RE2 prefers the leftmost match and,
at one position, the first alternative), e.g. ``(?:cache_key|...)|key\s*=\s*(?P<value>...)``
keeps ``cache_key = ...`` from being read as ``key = ...``.

A second kind of rule, ``[[scores]]``, is a *weighted cue score* over the whole text: several
weak cues (RE2 patterns), each with a weight; when the weights of the cues present add up to
``threshold`` or more, the text gets one finding (its span is the match of the heaviest cue
present). Each cue counts once however often it matches; weights may be negative (cues of
look-alikes, e.g. a question *about* jailbreaks). Like a rule, a cue may have a named group
``value`` (its reported span) and an ``allow`` list: a match whose value matches an ``allow``
regex does not count (the first few matches of the cue are tried), and a ``min_count`` (the cue is
present only when that many of its matches count, e.g. 2 for "several headline questions")::

    [[scores]]
    id = "pi-jailbreak-score"
    type = "jailbreak"
    threshold = 1.0
    [[scores.cues]]
    name = "never-refuses"
    weight = 0.5
    pattern = '''(?i)\bnever\s+refuses?\b'''
    [[scores.cues]]
    name = "token-game"
    weight = 0.6
    pattern = '''(?i)\btokens?\s+(?:will\s+be\s+)?deducted\b'''

Scores are evaluated by :mod:`._scoring` after the pattern rules.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ._validators import VALIDATORS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "CATEGORIES",
    "SEVERITIES",
    "Cue",
    "Rule",
    "ScoreRule",
    "builtin_rules",
    "custom_rules",
    "load_rules",
    "severity_rank",
]

CATEGORIES = ("secret", "pii", "dangerous_command", "prompt_injection", "custom")
SEVERITIES = ("info", "low", "medium", "high", "critical")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
RULES_DIR = Path(__file__).parent / "rules"


def severity_rank(severity: str) -> int:
    """Order of a severity name (``info`` = 0 ... ``critical`` = 4)."""
    try:
        return _RANK[severity]
    except KeyError:
        raise ValueError(f"unknown severity {severity!r}; expected one of {SEVERITIES}") from None


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    type: str
    severity: str
    pattern: str
    keywords: Tuple[str, ...] = ()
    validators: Tuple[str, ...] = ()
    allow: Tuple[str, ...] = ()
    priority: int = 0
    description: str = ""
    _allow_re: Tuple[Any, ...] = field(default=(), repr=False, compare=False)
    _checks: Tuple[Callable[[str], bool], ...] = field(default=(), init=False, repr=False, compare=False)
    _judged: Optional[Tuple[Tuple[str, ...], Tuple[str, ...]]] = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"rule {self.id!r}: unknown category {self.category!r}")
        severity_rank(self.severity)
        for v in self.validators:
            if v not in VALIDATORS:
                raise ValueError(f"rule {self.id!r}: unknown validator {v!r}; known: {sorted(VALIDATORS)}")
        object.__setattr__(self, "keywords", tuple(k.lower() for k in self.keywords))
        object.__setattr__(self, "_allow_re", tuple(re.compile(a) for a in self.allow))
        object.__setattr__(self, "_checks", tuple(VALIDATORS[v] for v in self.validators))
        # what the answer depends on besides the value (None: nothing, every value is accepted)
        object.__setattr__(self, "_judged", (self.allow, self.validators) if self.allow or self.validators else None)

    def accepts(self, value: str) -> bool:
        """Run allow-list and validators on a matched value.

        Both are pure functions of the value, so answers for short values are remembered
        (:data:`_ACCEPTS_MEMO`, shared by the rules with the same allow-list and validators).
        """
        judged = self._judged
        if judged is None:
            return True
        if len(value) > _MEMO_MAX_CHARS:
            return self._accepts(value)
        key = (judged, value)
        found = _ACCEPTS_MEMO.get(key)
        if found is None:
            found = self._accepts(value)
            if len(_ACCEPTS_MEMO) >= _MEMO_SIZE:
                _ACCEPTS_MEMO.clear()  # bounded: start over (cheaper than an LRU; values recur soon or not at all)
            _ACCEPTS_MEMO[key] = found
        return found

    def _accepts(self, value: str) -> bool:
        for a in self._allow_re:
            if a.search(value):
                return False
        for check in self._checks:  # noqa: SIM110 - a loop: no generator object per value
            if not check(value):
                return False
        return True


# Answers of Rule.accepts by (allow-list, validators, value), for values of up to _MEMO_MAX_CHARS
# characters: at most _MEMO_SIZE of them (well under 1 MB). A secret or a sample key that comes
# back in the next messages (a pasted config, an agent's tool output) is judged once.
_MEMO_SIZE = 1024
_MEMO_MAX_CHARS = 256
_ACCEPTS_MEMO: Dict[Tuple[Tuple[Tuple[str, ...], Tuple[str, ...]], str], bool] = {}


@dataclass(frozen=True)
class Cue:
    """One weighted cue of a :class:`ScoreRule`."""

    name: str
    weight: float
    pattern: str
    description: str = ""
    allow: Tuple[str, ...] = ()  # regexes: a match whose value matches one does not count
    min_count: int = 1  # the cue is present only with this many (non-overlapping, counting) matches


@dataclass(frozen=True)
class ScoreRule(Rule):
    """A weighted cue score over the whole text (``[[scores]]`` in a rules file).

    ``pattern`` is the alternation of the cue patterns (what can contribute at all). It is
    evaluated by :mod:`._scoring`, not as a pattern rule: :meth:`accepts` is always false, so
    an engine that treated it as one would report nothing rather than every cue.
    """

    threshold: float = 1.0
    cues: Tuple[Cue, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.cues:
            raise ValueError(f"score rule {self.id!r}: no cues")
        if self.threshold <= 0:
            raise ValueError(f"score rule {self.id!r}: threshold must be positive")
        names = [c.name for c in self.cues]
        if len(set(names)) != len(names):
            raise ValueError(f"score rule {self.id!r}: duplicate cue names")
        if any(not 1 <= c.min_count <= 8 for c in self.cues):
            raise ValueError(f"score rule {self.id!r}: min_count must be between 1 and 8")
        if sum(c.weight for c in self.cues if c.weight > 0) < self.threshold:
            raise ValueError(f"score rule {self.id!r}: the positive weights cannot reach the threshold")

    def accepts(self, value: str) -> bool:
        return False


def _as_tuple(value: Union[str, Sequence[str], None]) -> Tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def rules_from_data(data: Mapping[str, Any], *, source: str = "<data>") -> List[Rule]:
    """Build rules from a parsed rules document (``{"defaults": {...}, "rules": [...]}``)."""
    defaults = dict(data.get("defaults", {}))
    out = []
    for raw in data.get("rules", []):
        item = {**defaults, **raw}
        try:
            out.append(
                Rule(
                    id=item["id"],
                    category=item["category"],
                    type=item.get("type", item["id"]),
                    severity=item.get("severity", "medium"),
                    pattern=item["pattern"],
                    keywords=_as_tuple(item.get("keywords")),
                    validators=_as_tuple(item.get("validator")),
                    allow=_as_tuple(item.get("allow")),
                    priority=int(item.get("priority", 0)),
                    description=item.get("description", ""),
                )
            )
        except KeyError as exc:
            raise ValueError(f"{source}: rule {raw.get('id', '?')!r} lacks {exc.args[0]!r}") from None
    for raw in data.get("scores", []):
        item = {**defaults, **raw}
        try:
            cues = tuple(
                Cue(
                    name=c["name"],
                    weight=float(c["weight"]),
                    pattern=c["pattern"],
                    description=c.get("description", ""),
                    allow=_as_tuple(c.get("allow")),
                    min_count=int(c.get("min_count", 1)),
                )
                for c in item["cues"]
            )
            out.append(
                ScoreRule(
                    id=item["id"],
                    category=item["category"],
                    type=item.get("type", item["id"]),
                    severity=item.get("severity", "medium"),
                    pattern="|".join(f"(?:{c.pattern})" for c in cues),
                    priority=int(item.get("priority", 0)),
                    description=item.get("description", ""),
                    threshold=float(item.get("threshold", 1.0)),
                    cues=cues,
                )
            )
        except KeyError as exc:
            raise ValueError(f"{source}: score {raw.get('id', '?')!r} lacks {exc.args[0]!r}") from None
    return out


def load_rules(path: Union[str, Path]) -> List[Rule]:
    """Load a TOML or JSON rules file."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    data = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    return rules_from_data(data, source=str(p))


def builtin_rules() -> List[Rule]:
    """All rules shipped in ``cylestio_monitor/security/rules/`` (sorted by file name)."""
    rules: List[Rule] = []
    for p in sorted(RULES_DIR.iterdir()):
        if p.suffix in (".toml", ".json"):
            rules.extend(load_rules(p))
    return rules


def custom_rules(
    keywords: Iterable[str] = (),
    patterns: Optional[Mapping[str, str]] = None,
    *,
    severity: str = "medium",
) -> List[Rule]:
    """Rules of category ``custom`` from configuration.

    ``keywords`` match case-insensitively as whole words; ``patterns`` maps a name to an
    RE2 regular expression.
    """
    out = []
    for kw in keywords:
        kw = kw.strip()
        if not kw:
            continue
        out.append(
            Rule(
                id=f"custom-keyword-{re.sub(r'[^a-z0-9]+', '-', kw.lower()).strip('-') or 'kw'}",
                category="custom",
                type="keyword",
                severity=severity,
                pattern=r"(?i)(?:^|\b)" + re.escape(kw) + r"(?:\b|$)",
                keywords=(kw.lower(),),
            )
        )
    for name, pattern in (patterns or {}).items():
        out.append(Rule(id=f"custom-{name}", category="custom", type=name, severity=severity, pattern=pattern))
    return out


def rules_to_dict(rules: Iterable[Rule]) -> Dict[str, Any]:
    """The inverse of :func:`rules_from_data` (for ``cylestio-monitor rules --json``)."""
    rules = list(rules)
    scores = [r for r in rules if isinstance(r, ScoreRule)]
    out: Dict[str, Any] = {
        "rules": [
            {
                "id": r.id,
                "category": r.category,
                "type": r.type,
                "severity": r.severity,
                "pattern": r.pattern,
                "keywords": list(r.keywords),
                "validator": list(r.validators),
                "allow": list(r.allow),
                "priority": r.priority,
            }
            for r in rules
            if not isinstance(r, ScoreRule)
        ]
    }
    if scores:
        out["scores"] = [
            {
                "id": r.id,
                "category": r.category,
                "type": r.type,
                "severity": r.severity,
                "threshold": r.threshold,
                "priority": r.priority,
                "description": r.description,
                "cues": [
                    {"name": c.name, "weight": c.weight, "pattern": c.pattern, "description": c.description,
                     "allow": list(c.allow), "min_count": c.min_count}
                    for c in r.cues
                ],
            }
            for r in scores
        ]
    return out
