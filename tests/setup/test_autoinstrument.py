"""`opentelemetry-instrument python app.py`: our configurator puts the scanner in front of the exporters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from tests.otlp_receiver import OTLPReceiver

from .conftest import EXAMPLES, needs_security

PLANTED = "sk-proj-Xq7Lm2Pz9Rt4Vb8Nc1Kd6Wf3Hj5Gs0Ya2Ue"  # the key examples/opentelemetry_instrument.py sends
CLI = str(Path(sys.executable).parent / "opentelemetry-instrument")


def _run(env: Dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("OTEL_", "CYLESTIO_")) and k != "OPENAI_API_KEY"}
    return subprocess.run([CLI, sys.executable, "opentelemetry_instrument.py"], cwd=EXAMPLES,
                          env={**base, **env}, capture_output=True, text=True, timeout=120, check=True)


def _our_spans(rx: OTLPReceiver) -> list:
    # Another openai instrumentation may be installed in the same environment (the peers the
    # benchmarks compare against): keep the spans of our instrumentation scope only.
    rx.wait_for_spans(1)
    return [s for s in rx.spans() if s["scope"].startswith("cylestio_monitor")]


def _otlp_env(rx: OTLPReceiver, protocol: str) -> Dict[str, str]:
    return {
        "OTEL_PYTHON_CONFIGURATOR": "cylestio",
        "OTEL_SERVICE_NAME": "instrumented-app",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": rx.grpc_endpoint if protocol == "grpc" else rx.http_endpoint,
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY",
    }


def test_cli_loads_instrumentor_and_exports(otlp_receiver: OTLPReceiver) -> None:
    out = _run({**_otlp_env(otlp_receiver, "grpc"), "CYLESTIO_SECURITY": "false"})
    assert "assistant:" in out.stdout
    (span,) = _our_spans(otlp_receiver)
    assert span["name"] == "chat gpt-4o-mini"
    assert span["resource"]["service.name"] == "instrumented-app"
    assert span["attributes"]["gen_ai.provider.name"] == "openai"
    assert otlp_receiver.wait_for_metric("gen_ai.client.operation.duration")
    assert "spans are exported without security scanning" not in out.stderr


@needs_security
@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_scanner_sits_in_front_of_the_cli_exporters(otlp_receiver: OTLPReceiver, protocol: str) -> None:
    _run(_otlp_env(otlp_receiver, protocol))
    (span,) = _our_spans(otlp_receiver)
    assert span["name"] == "chat gpt-4o-mini"
    assert any(e["name"].startswith("cylestio.security")
               or any(k.startswith("cylestio.security.") for k in e["attributes"]) for e in span["events"])
    assert "gen_ai.input.messages" in span["attributes"]
    assert PLANTED.encode() not in otlp_receiver.raw_bytes()


def test_post_instrument_check_warns_when_another_configurator_ran(caplog: pytest.LogCaptureFixture) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from cylestio_monitor.distro import check_pipeline

    check_pipeline()  # nothing configured at all: nothing to warn about
    assert "without security scanning" not in caplog.text
    trace.set_tracer_provider(TracerProvider())  # as a stock configurator would
    check_pipeline()
    assert "OTEL_PYTHON_CONFIGURATOR=cylestio" in caplog.text


@needs_security
def test_every_cli_exporter_gets_the_findings_with_content_off(otlp_receiver: OTLPReceiver) -> None:
    # Two exporters (OTLP and console) and the default NO_CONTENT: the content reaches the
    # scanner only through the never-exported channel, and both exporters must get the findings.
    env = {**_otlp_env(otlp_receiver, "grpc"), "OTEL_TRACES_EXPORTER": "console,otlp"}
    del env["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"]
    out = _run(env)
    (span,) = _our_spans(otlp_receiver)
    assert "gen_ai.input.messages" not in span["attributes"]
    assert span["attributes"]["cylestio.security.findings.count"] >= 1
    assert '"cylestio.security.findings.count": ' in out.stdout  # the console exporter's copy
    assert PLANTED not in out.stdout and PLANTED.encode() not in otlp_receiver.raw_bytes()
