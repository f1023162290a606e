"""Security scanning for GenAI telemetry: secrets, PII, dangerous commands, prompt injection.

Wrap the processor that exports::

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from cylestio_monitor.security import SecurityScanningSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(SecurityScanningSpanProcessor(BatchSpanProcessor(OTLPSpanExporter())))

Scan text directly::

    from cylestio_monitor.security import Scanner
    for f in Scanner().scan("my key is sk-proj-..."):
        print(f.category, f.rule_id, f.start, f.end, f.masked)

Rules are data (``security/rules/*.toml``); add your own with :func:`load_rules` or
:func:`custom_rules`. See docs/security.md for names, rule format and guard mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._channel import RequestBlockedError
from ._rules import CATEGORIES, SEVERITIES, Rule, builtin_rules, custom_rules, load_rules
from .guard import RequestGuard
from .scanner import Finding, Scanner, ScanResult, default_scanner, mask

if TYPE_CHECKING:
    from .processor import SecurityScanningSpanProcessor

__all__ = [
    "CATEGORIES",
    "SEVERITIES",
    "Finding",
    "RequestBlockedError",
    "RequestGuard",
    "Rule",
    "ScanResult",
    "Scanner",
    "SecurityScanningSpanProcessor",
    "builtin_rules",
    "custom_rules",
    "default_scanner",
    "load_rules",
    "mask",
]


def __getattr__(name: str) -> Any:
    # the processor imports the OpenTelemetry SDK: only when asked for (the scanner stays pure)
    if name == "SecurityScanningSpanProcessor":
        from .processor import SecurityScanningSpanProcessor

        return SecurityScanningSpanProcessor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
