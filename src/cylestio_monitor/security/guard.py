"""Guard mode: block a request whose input reaches a severity, before any byte is sent.

    from cylestio_monitor.security import RequestGuard
    guard = RequestGuard(block_at="high").register()   # opt-in
    ...                                                 # openai calls raise RequestBlockedError
    guard.unregister()

The instrumentation calls every registered guard (:func:`cylestio_monitor._channel.guards`)
with the request's :class:`~cylestio_monitor._channel.GenAIContent` before sending. The guard
scans input messages (every role, tool-call arguments and tool results included), system
instructions and tool definitions, and raises :class:`RequestBlockedError` naming the rule
ids - never the matched value.
"""

from __future__ import annotations

from typing import Iterable, List, Optional

from .. import _channel
from .._channel import GenAIContent, RequestBlockedError
from ._redact import scan_content
from ._rules import severity_rank
from .scanner import Finding, Scanner, default_scanner

__all__ = ["RequestBlockedError", "RequestGuard"]


class RequestGuard:
    """A request guard blocking at ``block_at`` severity or above (``categories`` = all by default)."""

    def __init__(
        self,
        block_at: str = "high",
        *,
        scanner: Optional[Scanner] = None,
        categories: Optional[Iterable[str]] = None,
    ) -> None:
        self.block_at = block_at
        self._rank = severity_rank(block_at)
        self._scanner = scanner
        self._categories = frozenset(categories) if categories is not None else None

    def findings(self, content: GenAIContent) -> List[Finding]:
        scanner = self._scanner or default_scanner()
        out: List[Finding] = []
        for value, location in (
            (content.system_instructions, "system_instructions"),
            (content.input_messages, "input"),
            (content.tool_definitions, "tool_definitions"),
        ):
            if value:
                _, found, _, _ = scan_content(value, location, scanner)
                out.extend(loc.finding for loc in found)
        return out

    def __call__(self, content: GenAIContent) -> None:
        blocking = [
            f
            for f in self.findings(content)
            if severity_rank(f.severity) >= self._rank
            and (self._categories is None or f.category in self._categories)
        ]
        if blocking:
            rule_ids = tuple(sorted({f.rule_id for f in blocking}))
            raise RequestBlockedError(
                f"request blocked by Cylestio security guard: {len(blocking)} finding(s) at or above "
                f"severity {self.block_at!r} (rules: {', '.join(rule_ids)})",
                rule_ids=rule_ids,
                findings=tuple(blocking),
            )

    def register(self) -> RequestGuard:
        _channel.register_guard(self)
        return self

    def unregister(self) -> None:
        _channel.unregister_guard(self)

    def __repr__(self) -> str:
        return f"RequestGuard(block_at={self.block_at!r})"
