"""Security scanning for GenAI telemetry (placeholder, filled below)."""
from ._rules import Rule, builtin_rules, custom_rules, load_rules
from .scanner import Finding, ScanResult, Scanner, default_scanner, mask

__all__ = ["Finding", "Rule", "ScanResult", "Scanner", "builtin_rules", "custom_rules", "default_scanner", "load_rules", "mask"]
