"""Every example runs offline as a subprocess, and prints what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PLANTED = "sk-proj-Xq7Lm2Pz9Rt4Vb8Nc1Kd6Wf3Hj5Gs0Ya2Ue"


def _security_available() -> bool:
    try:
        from cylestio_monitor.security import SecurityScanningSpanProcessor  # noqa: F401
    except ImportError:
        return False
    return True


SECURITY = _security_available()
needs_security = pytest.mark.skipif(not SECURITY, reason="security processor not available")


def run(script: str, env: Optional[Dict[str, str]] = None, cli: bool = False) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("OTEL_", "CYLESTIO_")) and k != "OPENAI_API_KEY"}  # offline
    if not SECURITY:
        base["CYLESTIO_SECURITY"] = "false"
    cmd = [sys.executable, script]
    if cli:
        cmd.insert(0, str(Path(sys.executable).parent / "opentelemetry-instrument"))
    return subprocess.run(cmd, cwd=EXAMPLES, env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=120, check=True)


def test_quickstart_prints_spans_and_metrics() -> None:
    out = run("quickstart.py")
    assert "assistant: OpenTelemetry is" in out.stdout
    assert "[cylestio] span 'chat gpt-4o-mini'" in out.stderr
    assert "gen_ai.usage.input_tokens = " in out.stderr
    assert "[cylestio] metric gen_ai.client.token.usage" in out.stderr


@needs_security
def test_quickstart_shows_a_finding_and_redacts() -> None:
    out = run("quickstart.py")
    assert "! event cylestio.security" in out.stderr or "cylestio.security." in out.stderr
    assert "gen_ai.input.messages = " in out.stderr  # content recorded by default...
    assert PLANTED not in out.stderr  # ...with the secret redacted


def test_async_streaming() -> None:
    out = run("async_streaming.py")
    assert "chat stream: OpenTelemetry" in out.stdout
    assert "responses stream: OpenTelemetry" in out.stdout
    assert "concurrent calls: 3" in out.stdout
    assert out.stderr.count("[cylestio] span 'chat gpt-4o-mini'") >= 4
    assert "gen_ai.request.stream = True" in out.stderr
    assert "gen_ai.client.operation.time_to_first_chunk" in out.stderr


@needs_security
def test_security_demo() -> None:
    out = run("security_demo.py")
    assert "finding event" in out.stdout
    assert "prompt content recorded: True" in out.stdout
    assert "redacted: yes" in out.stdout
    assert PLANTED not in out.stdout + out.stderr


def test_serverless_handler_flushes_each_invocation() -> None:
    out = run("serverless_handler.py")
    assert out.stdout.count("telemetry flushed=True") == 3
    # each invocation's span is exported before the next invocation starts
    first_span = out.stderr.index("[cylestio] span")
    assert out.stderr.count("[cylestio] span 'chat gpt-4o-mini'") == 3
    assert first_span >= 0


@pytest.mark.parametrize("capture", ["SPAN_ONLY"])
def test_opentelemetry_instrument_cli(capture: str) -> None:
    out = run("opentelemetry_instrument.py", cli=True, env={
        "OTEL_PYTHON_CONFIGURATOR": "cylestio",
        "OTEL_SERVICE_NAME": "instrumented-app",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": capture,
    })
    assert "assistant: OpenTelemetry is" in out.stdout
    assert '"name": "chat gpt-4o-mini"' in out.stdout
    assert '"service.name": "instrumented-app"' in out.stdout
    if SECURITY:
        assert "cylestio.security" in out.stdout
        assert PLANTED not in out.stdout
