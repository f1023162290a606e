"""Settings resolution: keyword args > config dict > environment > defaults, validated once."""

from __future__ import annotations

import logging

import pytest

from cylestio_monitor.config import ConfigError, resolve


def test_defaults_send_nothing_and_record_content() -> None:
    s = resolve("agent", env={})
    assert s.exporters == ("console",)
    assert s.endpoint is None
    assert s.capture_content == "SPAN_ONLY"
    assert s.flush_timeout == 5.0
    assert s.security is True
    assert s.debug_level is None
    assert s.explicit == frozenset()


def test_precedence_kwargs_over_config_over_env() -> None:
    env = {"CYLESTIO_FLUSH_TIMEOUT": "3", "CYLESTIO_CAPTURE_CONTENT": "false", "CYLESTIO_REDACT_PII": "no"}
    s = resolve("a", {"flush_timeout": 2, "capture_content": "SPAN_AND_EVENT"}, {"flush_timeout": 1.5}, env)
    assert s.flush_timeout == 1.5  # kwarg
    assert s.capture_content == "SPAN_AND_EVENT"  # config dict over env
    assert s.redact_pii is False  # env
    assert s.security_options() == {"redact_pii": False}


def test_seed_keys_keep_working() -> None:
    s = resolve("a", {"debug_level": "INFO", "development_mode": True}, env={})
    assert s.debug_level == logging.INFO
    assert s.development_mode is True
    assert "console" in s.exporters
    dev = resolve("a", {"development_mode": "true"}, env={})
    assert dev.debug_level == logging.DEBUG


def test_standard_otel_variables() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "NO_CONTENT",
    }
    s = resolve("a", env=env)
    assert s.exporters == ("otlp",)
    assert s.endpoint == "http://collector:4318" and s.endpoint_from_env
    assert s.protocol == "http/protobuf"
    assert s.capture_content == "NO_CONTENT"
    # ours beat the standard one
    s2 = resolve("a", env={**env, "CYLESTIO_CAPTURE_CONTENT": "true", "OTEL_TRACES_EXPORTER": "none"})
    assert s2.capture_content == "SPAN_ONLY"
    assert s2.exporters == ()


def test_log_file_adds_file_exporter(tmp_path) -> None:
    s = resolve("a", {"log_file": str(tmp_path / "x.jsonl")}, env={})
    assert s.exporters == ("console", "file")
    s2 = resolve("a", {"log_file": str(tmp_path / "x.jsonl"), "exporter": "file"}, env={})
    assert s2.exporters == ("file",)


@pytest.mark.parametrize(
    ("given", "env", "fragment"),
    [
        ({"flush_timeout": "soon"}, {}, "flush_timeout 'soon' (from argument 'flush_timeout')"),
        ({}, {"CYLESTIO_FLUSH_TIMEOUT": "-1"}, "environment variable CYLESTIO_FLUSH_TIMEOUT"),
        ({"capture_content": "ALL"}, {}, "capture_content"),
        ({"exporter": "jaeger"}, {}, "exporter"),
        ({"exporter": "file"}, {}, "needs log_file"),
        ({"protocol": "udp"}, {}, "grpc or http/protobuf"),
        ({"endpoint": "collector:4317"}, {}, "a URL"),
        ({"debug_level": "LOUD"}, {}, "debug_level"),
        ({"guard_severity": "severe"}, {}, "guard_severity"),
        ({"development_mode": "maybe"}, {}, "true or false"),
        ({"debug_levle": "INFO"}, {}, "did you mean 'debug_level'"),
        ({}, {"CYLESTIO_CUSTOM_RULES": "/nonexistent/rules.toml"}, "not found: /nonexistent/rules.toml"),
    ],
)
def test_invalid_settings_fail_clearly(given, env, fragment) -> None:
    with pytest.raises(ConfigError) as info:
        resolve("a", given, env=env)
    assert fragment in str(info.value)


def test_agent_id_required() -> None:
    with pytest.raises(ConfigError, match="agent_id"):
        resolve("  ", env={})
