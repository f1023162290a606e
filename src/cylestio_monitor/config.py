"""Settings of the one-call setup (:func:`cylestio_monitor.start_monitoring`).

Every setting is resolved once, in this order: keyword argument > ``config`` dict entry >
environment variable (``CYLESTIO_*``, then the standard ``OTEL_*`` one where there is one)
> default, and validated once: a bad value raises :class:`ConfigError` naming the key, the
source it came from and what is accepted.

==================  ===============================================  =====================
key                 environment                                      default
==================  ===============================================  =====================
debug_level         CYLESTIO_DEBUG_LEVEL                             (logger untouched)
development_mode    CYLESTIO_DEVELOPMENT_MODE                        False
capture_content     CYLESTIO_CAPTURE_CONTENT,                        SPAN_ONLY
                    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
exporter            CYLESTIO_EXPORTER, OTEL_TRACES_EXPORTER          auto
endpoint            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,              (none: nothing sent)
                    OTEL_EXPORTER_OTLP_ENDPOINT
protocol            OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,              grpc
                    OTEL_EXPORTER_OTLP_PROTOCOL
headers             OTEL_EXPORTER_OTLP_HEADERS (read by exporter)    {}
log_file            CYLESTIO_LOG_FILE                                (no file)
metrics             CYLESTIO_METRICS                                 True
security            CYLESTIO_SECURITY                                True
redact_pii          CYLESTIO_REDACT_PII                              (processor default)
guard_severity      CYLESTIO_GUARD_SEVERITY                          (guard off)
custom_rules        CYLESTIO_CUSTOM_RULES                            (none)
flush_timeout       CYLESTIO_FLUSH_TIMEOUT                           5.0 s
export_timeout      OTEL_EXPORTER_OTLP_TIMEOUT (read by exporter)    10 s
service_name        OTEL_SERVICE_NAME (read by Resource)             agent_id
resource_attributes OTEL_RESOURCE_ATTRIBUTES (read by Resource)      {}
==================  ===============================================  =====================
"""

from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

__all__ = ["CAPTURE_MODES", "ConfigError", "Settings", "resolve"]

CAPTURE_MODES = ("NO_CONTENT", "SPAN_ONLY", "EVENT_ONLY", "SPAN_AND_EVENT")
EXPORTERS = ("otlp", "console", "file", "none")
PROTOCOLS = ("grpc", "http/protobuf")
SEVERITIES = ("low", "medium", "high", "critical")
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class ConfigError(ValueError):
    """A setting of :func:`start_monitoring` is invalid (the message names key and source)."""


@dataclass(frozen=True)
class Settings:
    """Resolved, validated settings. ``explicit`` names the keys the user set (any source)."""

    agent_id: str
    debug_level: Optional[int] = None
    development_mode: bool = False
    capture_content: str = "SPAN_ONLY"
    exporters: Tuple[str, ...] = ("console",)
    endpoint: Optional[str] = None
    endpoint_from_env: bool = False
    protocol: str = "grpc"
    headers: Dict[str, str] = field(default_factory=dict)
    log_file: Optional[str] = None
    metrics: bool = True
    security: bool = True
    redact_pii: Optional[bool] = None
    guard_severity: Optional[str] = None
    custom_rules: Any = None
    flush_timeout: float = 5.0
    export_timeout: Optional[float] = None
    service_name: Optional[str] = None
    resource_attributes: Dict[str, Any] = field(default_factory=dict)
    explicit: frozenset = frozenset()

    def security_options(self) -> Dict[str, Any]:
        """The security settings that were set (``redact_pii``, ``guard_severity``, ``custom_rules``)."""
        opts = {"redact_pii": self.redact_pii, "guard_severity": self.guard_severity,
                "custom_rules": self.custom_rules}
        return {k: v for k, v in opts.items() if v is not None}

    def processor_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments for ``SecurityScanningSpanProcessor`` built from the security settings."""
        kwargs: Dict[str, Any] = {}
        if self.redact_pii is not None:
            kwargs["redact_pii"] = self.redact_pii
        if self.guard_severity is not None:
            kwargs["guard"] = self.guard_severity
        if self.custom_rules is not None:
            from .security import Scanner

            kwargs["scanner"] = Scanner(extra_rules=_load_custom_rules(self.custom_rules))
        return kwargs


def _load_custom_rules(spec: Any) -> list:
    """``custom_rules``: a rules file path (TOML/JSON), a list of paths or rules, or a dict
    ``{"keywords": [...], "patterns": {name: regex}, "severity": "medium"}``."""
    from .security import custom_rules, load_rules

    if isinstance(spec, Mapping):
        return custom_rules(spec.get("keywords", ()), spec.get("patterns"),
                            severity=spec.get("severity", "medium"))
    items = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
    rules: list = []
    for item in items:
        rules.extend(load_rules(os.fspath(item)) if isinstance(item, (str, os.PathLike)) else [item])
    return rules


# key -> environment variables consulted, in order
_ENV: Dict[str, Tuple[str, ...]] = {
    "debug_level": ("CYLESTIO_DEBUG_LEVEL",),
    "development_mode": ("CYLESTIO_DEVELOPMENT_MODE",),
    "capture_content": ("CYLESTIO_CAPTURE_CONTENT", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"),
    "exporter": ("CYLESTIO_EXPORTER", "OTEL_TRACES_EXPORTER"),
    "endpoint": ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    "protocol": ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
    "headers": (),
    "log_file": ("CYLESTIO_LOG_FILE",),
    "metrics": ("CYLESTIO_METRICS",),
    "security": ("CYLESTIO_SECURITY",),
    "redact_pii": ("CYLESTIO_REDACT_PII",),
    "guard_severity": ("CYLESTIO_GUARD_SEVERITY",),
    "custom_rules": ("CYLESTIO_CUSTOM_RULES",),
    "flush_timeout": ("CYLESTIO_FLUSH_TIMEOUT",),
    "export_timeout": (),
    "service_name": (),
    "resource_attributes": (),
}
KEYS = tuple(_ENV)


def _lookup(key: str, given: Mapping[str, Any], env: Mapping[str, str]) -> Tuple[Any, Optional[str]]:
    if key in given and given[key] is not None:
        return given[key], f"argument {key!r}"
    for var in _ENV[key]:
        value = env.get(var, "").strip()
        if value:
            return value, f"environment variable {var}"
    return None, None


def _fail(key: str, source: Optional[str], value: Any, accepted: str) -> ConfigError:
    return ConfigError(f"cylestio_monitor: invalid {key} {value!r} (from {source}); expected {accepted}")


def _bool(key: str, value: Any, source: Optional[str]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise _fail(key, source, value, "true or false")


def _seconds(key: str, value: Any, source: Optional[str]) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise _fail(key, source, value, "a number of seconds") from None
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise _fail(key, source, value, "a positive, finite number of seconds")
    return seconds


def _level(value: Any, source: Optional[str]) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().upper() in _LEVELS:
        return int(getattr(logging, value.strip().upper()))
    raise _fail("debug_level", source, value, "one of " + ", ".join(_LEVELS) + " or a logging level number")


def _capture(value: Any, source: Optional[str]) -> str:
    if isinstance(value, bool):
        return "SPAN_ONLY" if value else "NO_CONTENT"
    text = str(value).strip()
    if text.lower() in _TRUE + _FALSE:
        return "SPAN_ONLY" if text.lower() in _TRUE else "NO_CONTENT"
    if text.upper() in CAPTURE_MODES:
        return text.upper()
    raise _fail("capture_content", source, value, "true, false or one of " + ", ".join(CAPTURE_MODES))


def _exporters(value: Any, source: Optional[str]) -> Tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    names = tuple(dict.fromkeys(str(i).strip().lower() for i in items if str(i).strip()))
    if not names or any(n not in (*EXPORTERS, "auto") for n in names):
        raise _fail("exporter", source, value, "auto or a comma-separated list of " + ", ".join(EXPORTERS))
    if "none" in names and len(names) > 1:
        raise _fail("exporter", source, value, "'none' alone")
    return names


def resolve(
    agent_id: str,
    config: Optional[Mapping[str, Any]] = None,
    kwargs: Optional[Mapping[str, Any]] = None,
    env: Optional[Mapping[str, str]] = None,
) -> Settings:
    """Resolve and validate the settings (kwargs > config > environment > defaults)."""
    if not isinstance(agent_id, str) or not agent_id.strip():
        raise ConfigError(f"cylestio_monitor: agent_id must be a non-empty string, got {agent_id!r}")
    if config is not None and not isinstance(config, Mapping):
        raise ConfigError(f"cylestio_monitor: config must be a dict, got {type(config).__name__}")
    given: Dict[str, Any] = {**(config or {}), **(kwargs or {})}
    unknown = sorted(k for k in given if k not in _ENV)
    if unknown:
        hints = []
        for k in unknown:
            close = difflib.get_close_matches(k, KEYS, 1)
            hints.append(f"{k!r} (did you mean {close[0]!r}?)" if close else repr(k))
        raise ConfigError("cylestio_monitor: unknown setting(s) " + ", ".join(hints)
                          + "; known: " + ", ".join(KEYS))
    env = os.environ if env is None else env
    raw = {key: _lookup(key, given, env) for key in KEYS}
    explicit = frozenset(k for k, (_, src) in raw.items() if src is not None)
    out: Dict[str, Any] = {"agent_id": agent_id.strip(), "explicit": explicit}

    def val(key: str) -> Any:
        return raw[key][0]

    def src(key: str) -> Optional[str]:
        return raw[key][1]

    dev = _bool("development_mode", val("development_mode"), src("development_mode")) \
        if "development_mode" in explicit else False
    out["development_mode"] = dev
    if "debug_level" in explicit:
        out["debug_level"] = _level(val("debug_level"), src("debug_level"))
    elif dev:
        out["debug_level"] = logging.DEBUG
    for key in ("metrics", "security", "redact_pii"):
        if key in explicit:
            out[key] = _bool(key, val(key), src(key))
    if "capture_content" in explicit:
        out["capture_content"] = _capture(val("capture_content"), src("capture_content"))
    if "guard_severity" in explicit:
        sev = str(val("guard_severity")).strip().lower()
        if sev not in ("off", "none", "") and sev not in SEVERITIES:
            raise _fail("guard_severity", src("guard_severity"), val("guard_severity"),
                        "off or one of " + ", ".join(SEVERITIES))
        out["guard_severity"] = sev if sev in SEVERITIES else None
    if "custom_rules" in explicit:
        rules = val("custom_rules")
        if isinstance(rules, str) and (src("custom_rules") or "").startswith("environment"):
            rules = [p for p in rules.split(os.pathsep) if p.strip()]
        paths = [rules] if isinstance(rules, (str, os.PathLike)) else (
            [] if isinstance(rules, Mapping) else list(rules))
        missing = [str(p) for p in paths if isinstance(p, (str, os.PathLike)) and not os.path.isfile(p)]
        if missing:
            raise _fail("custom_rules", src("custom_rules"), val("custom_rules"),
                        "existing rules file(s); not found: " + ", ".join(missing))
        out["custom_rules"] = rules
    if "flush_timeout" in explicit:
        out["flush_timeout"] = _seconds("flush_timeout", val("flush_timeout"), src("flush_timeout"))
    if "export_timeout" in explicit:
        out["export_timeout"] = _seconds("export_timeout", val("export_timeout"), src("export_timeout"))
    for key in ("endpoint", "log_file", "service_name"):
        if key in explicit:
            text = str(val(key)).strip()
            if not text:
                raise _fail(key, src(key), val(key), "a non-empty string")
            out[key] = text
    endpoint = out.get("endpoint")
    out["endpoint_from_env"] = (src("endpoint") or "").startswith("environment")
    if endpoint is not None and "://" not in endpoint:
        raise _fail("endpoint", src("endpoint"), endpoint, "a URL such as http://localhost:4317")
    if "protocol" in explicit:
        proto = str(val("protocol")).strip().lower()
        if proto == "http":
            proto = "http/protobuf"
        if proto not in PROTOCOLS:
            raise _fail("protocol", src("protocol"), val("protocol"), "grpc or http/protobuf")
        out["protocol"] = proto
    for key in ("headers", "resource_attributes"):
        if key in explicit:
            if not isinstance(val(key), Mapping):
                raise _fail(key, src(key), val(key), "a dict")
            out[key] = dict(val(key))

    names = _exporters(val("exporter"), src("exporter")) if "exporter" in explicit else ("auto",)
    if "auto" in names:
        auto = ["otlp"] if endpoint else ["console"]
        if out.get("log_file"):
            auto.append("file")
        if dev and "console" not in auto:
            auto.append("console")
        names = tuple(dict.fromkeys([n for n in names if n != "auto"] + auto))
    # 'otlp' chosen explicitly without an endpoint uses the exporter's own default
    # (localhost:4317 / :4318): the user asked for it, so that is allowed.
    if "file" in names and not out.get("log_file"):
        raise ConfigError("cylestio_monitor: exporter 'file' needs log_file (or CYLESTIO_LOG_FILE)")
    out["exporters"] = () if names == ("none",) else names
    return Settings(**out)
