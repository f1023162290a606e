"""start_monitoring exporting over real OTLP (gRPC and HTTP) to a receiver the test starts."""

from __future__ import annotations

import pytest

from cylestio_monitor import start_monitoring, stop_monitoring
from tests.otlp_receiver import OTLPReceiver

from .conftest import needs_security

PLANTED = "sk-proj-Xq7Lm2Pz9Rt4Vb8Nc1Kd6Wf3Hj5Gs0Ya2Ue"


def security_events(span: dict) -> list:
    return [e for e in span["events"] if e["name"].startswith("cylestio.security")
            or any(k.startswith("cylestio.security.") for k in e["attributes"])]


@needs_security
@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_spans_findings_and_metrics_reach_the_receiver(
    client, otlp_receiver: OTLPReceiver, protocol: str
) -> None:
    endpoint = otlp_receiver.grpc_endpoint if protocol == "grpc" else otlp_receiver.http_endpoint
    start_monitoring("otlp-agent", endpoint=endpoint, protocol=protocol)
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"my key is {PLANTED}, keep it safe"}])
    assert stop_monitoring() is True

    (span,) = otlp_receiver.wait_for_spans(1)
    assert span["name"] == "chat gpt-4o-mini"
    assert span["kind"] == "CLIENT"
    assert span["resource"]["service.name"] == "otlp-agent"
    assert span["resource"]["gen_ai.agent.id"] == "otlp-agent"
    assert span["attributes"]["gen_ai.usage.input_tokens"] > 0
    assert "gen_ai.input.messages" in span["attributes"]  # content on by default in the one-call setup
    assert security_events(span), span["events"]
    assert PLANTED.encode() not in otlp_receiver.raw_bytes()  # redacted before it left the process

    duration = otlp_receiver.wait_for_metric("gen_ai.client.operation.duration")
    assert duration[-1]["attributes"]["gen_ai.operation.name"] == "chat"
    usage = otlp_receiver.wait_for_metric("gen_ai.client.token.usage")
    assert {p["attributes"]["gen_ai.token.type"] for p in usage} == {"input", "output"}


def test_standard_otlp_environment(
    client, otlp_receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.http_endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "env-service")
    start_monitoring("env-agent", metrics=False, security=False)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert stop_monitoring() is True
    (span,) = otlp_receiver.wait_for_spans(1)
    assert span["resource"]["service.name"] == "env-service"
    assert otlp_receiver.requests("metrics") == []
