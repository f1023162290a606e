"""Structure of the shipped collector configs (no collector binary can be installed here).

Checks that every pipeline names defined components and every component is used, the processor
order (memory_limiter first, batch last, tail sampling after redaction), that the tail-sampling
policy keys on the security attributes the package writes, that the redaction patterns catch
key-like strings, and that ports agree with docker-compose and docs/deploy.md (and README.md when
it lists ports).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "otel-collector-config.yaml"
AGENT = ROOT / "deploy" / "otel-collector-agent.yaml"
SAMPLING = ROOT / "deploy" / "otel-collector-sampling.yaml"
COMPOSE = ROOT / "docker-compose.yaml"
COMPOSE_SCALED = ROOT / "deploy" / "docker-compose.scaled.yaml"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
CONFIGS = [MAIN, AGENT, SAMPLING]

# The span summary attributes the security processor writes and the tail-sampling policy keys on.
# Written out here (the YAML has them as literals); test_security_names_match_package checks them
# against cylestio_monitor.security._names and the severity scale against the package's own.
FINDINGS_COUNT = "cylestio.security.findings.count"
HIGHEST_SEVERITY = "cylestio.security.findings.highest_severity"

SECTIONS = {"receivers": "receivers", "processors": "processors", "exporters": "exporters"}


def load(path: Path) -> Any:
    with path.open() as f:
        return yaml.safe_load(f)


def ids(cfg: dict[str, Any], section: str) -> set[str]:
    return set(cfg.get(section) or {})


def pipelines(cfg: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    return cfg["service"]["pipelines"]


def ctype(component_id: str) -> str:
    return component_id.split("/", 1)[0]


def processors_of_type(cfg: dict[str, Any], type_: str) -> dict[str, Any]:
    return {k: v for k, v in (cfg.get("processors") or {}).items() if ctype(k) == type_}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_pipelines_reference_defined_components_and_all_are_used(path: Path) -> None:
    cfg = load(path)
    used: dict[str, set[str]] = {s: set() for s in SECTIONS}
    assert pipelines(cfg), "no pipelines"
    for name, pipe in pipelines(cfg).items():
        assert name.split("/")[0] in {"traces", "metrics", "logs"}, name
        for section in SECTIONS:
            refs = pipe.get(section) or []
            if section != "processors":
                assert refs, f"{name}: no {section}"
            assert len(refs) == len(set(refs)), f"{name}: duplicate {section}"
            undefined = set(refs) - ids(cfg, section)
            assert not undefined, f"{name}: undefined {section} {undefined}"
            used[section] |= set(refs)
    for section in SECTIONS:
        unused = ids(cfg, section) - used[section]
        assert not unused, f"defined but unused {section}: {unused}"
    assert set(cfg["service"].get("extensions") or []) == ids(cfg, "extensions")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_processor_order(path: Path) -> None:
    cfg = load(path)
    for name, pipe in pipelines(cfg).items():
        procs = [ctype(p) for p in pipe.get("processors") or []]
        assert procs and procs[0] == "memory_limiter", f"{name}: memory_limiter must be first: {procs}"
        assert procs[-1] == "batch", f"{name}: batch must be last: {procs}"
        if "tail_sampling" in procs:
            # redact before the sampler keeps anything; batch only after the decision
            for redactor in ("transform", "redaction"):
                if redactor in procs:
                    assert procs.index(redactor) < procs.index("tail_sampling"), name
            assert procs.index("tail_sampling") < procs.index("batch"), name


def security_policies(cfg: dict[str, Any]) -> list[dict[str, Any]]:
    [tail] = processors_of_type(cfg, "tail_sampling").values()
    return tail["policies"]


@pytest.mark.parametrize("path", [MAIN, SAMPLING], ids=lambda p: p.name)
def test_tail_sampling_keeps_security_findings_and_samples_the_rest(path: Path) -> None:
    cfg = load(path)
    assert "tail_sampling" in [ctype(p) for p in pipelines(cfg)["traces"]["processors"]]
    policies = security_policies(cfg)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for pol in policies:
        assert pol["type"] in pol, f"policy {pol['name']} lacks its {pol['type']} block"
        by_type.setdefault(pol["type"], []).append(pol[pol["type"]])
    [count] = [p for p in by_type["numeric_attribute"] if p["key"] == FINDINGS_COUNT]
    assert count["min_value"] == 1 and count["max_value"] >= 1_000_000
    [severity] = [p for p in by_type["string_attribute"] if p["key"] == HIGHEST_SEVERITY]
    assert {"high", "critical"} <= set(severity["values"])
    [prob] = by_type["probabilistic"]
    assert 0 < prob["sampling_percentage"] < 100
    # top-level policies are OR-ed: no `and`/`composite` wrapper may hide the security keep-policy
    assert not {"and", "composite", "drop"} & set(by_type)


def test_sampling_tier_matches_single_collector() -> None:
    main, sampling = load(MAIN), load(SAMPLING)
    assert sampling["processors"] == main["processors"]
    assert sampling["service"]["pipelines"] == main["service"]["pipelines"]
    assert sampling["exporters"] == main["exporters"]


def test_agent_routes_traces_by_trace_id_without_sampling() -> None:
    agent = load(AGENT)
    traces = pipelines(agent)["traces"]
    assert "tail_sampling" not in [ctype(p) for p in traces["processors"]], "agents see partial traces"
    [lb_id] = [e for e in traces["exporters"] if ctype(e) == "loadbalancing"]
    lb = agent["exporters"][lb_id]
    assert lb["routing_key"] == "traceID"
    host, port = lb["resolver"]["dns"]["hostname"], lb["resolver"]["dns"]["port"]
    scaled = load(COMPOSE_SCALED)["services"]
    assert host in scaled and str(port) in [str(p) for p in scaled[host].get("expose", [])]
    sampling_ports = {p for p, _ in receiver_ports(load(SAMPLING))}
    assert port in sampling_ports


def test_security_names_match_package() -> None:
    names = pytest.importorskip("cylestio_monitor.security._names")
    from cylestio_monitor.security import SEVERITIES

    assert names.FINDINGS_COUNT == FINDINGS_COUNT
    assert names.HIGHEST_SEVERITY == HIGHEST_SEVERITY
    for path in (MAIN, SAMPLING):
        [severity] = [
            p["string_attribute"] for p in security_policies(load(path))
            if p["type"] == "string_attribute" and p["string_attribute"]["key"] == HIGHEST_SEVERITY
        ]
        assert set(severity["values"]) == set(SEVERITIES), "keep a trace whatever its highest severity"


# -- redaction safety net ----------------------------------------------------------------------

OTTL_FUNCS = {"delete_matching_keys", "delete_key", "replace_all_patterns", "replace_pattern", "set"}
SECRETS = [
    "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_" + "a1B2" * 9,
    "xoxb-1234567890-abcdefghij",
]


def ottl_statements(cfg: dict[str, Any]) -> list[str]:
    out = []
    for proc in processors_of_type(cfg, "transform").values():
        for key in ("trace_statements", "log_statements", "metric_statements"):
            for group in proc.get(key) or []:
                out.extend(group["statements"])
    return out


def ottl_patterns(cfg: dict[str, Any]) -> list[str]:
    pats = []
    for st in ottl_statements(cfg):
        m = re.match(r'replace_all_patterns\(attributes, "value", "([^"]+)", "[^"]*"\)$', st)
        if m:
            pats.append(m.group(1))
    return pats


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_ottl_statements_are_well_formed(path: Path) -> None:
    statements = ottl_statements(load(path))
    assert statements
    for st in statements:
        func = st.split("(", 1)[0]
        assert func in OTTL_FUNCS, st
        assert st.count("(") == st.count(")") and st.endswith(")"), st
        assert st.count('"') % 2 == 0, st
    assert any(s.startswith("delete_matching_keys(attributes") and "header" in s for s in statements)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
@pytest.mark.parametrize("secret", SECRETS, ids=lambda s: s[:4])
def test_redaction_patterns_catch_key_like_strings(path: Path, secret: str) -> None:
    pats = [re.compile(p) for p in ottl_patterns(load(path))]
    text = f"please use {secret} for the call"
    assert any(p.search(text) for p in pats), secret
    masked_by_package = secret[:4] + "..." + secret[-4:]  # the scanner's masked form must survive
    assert not any(p.search(masked_by_package) for p in pats)


def test_redaction_processor_blocks_key_patterns() -> None:
    [red] = processors_of_type(load(MAIN), "redaction").values()
    assert red["allow_all_keys"] is True  # masks values, never drops our attributes
    pats = [re.compile(p) for p in red["blocked_values"]]
    assert any(p.search(SECRETS[0]) for p in pats)
    assert any(p.search("-----BEGIN RSA PRIVATE KEY-----") for p in pats)
    assert not any(p.search("gpt-4o-mini chat 2024-08-06 1234") for p in pats)


# -- ports -------------------------------------------------------------------------------------


def receiver_ports(cfg: dict[str, Any]) -> list[tuple[int, str]]:
    out = []
    for rid, rcfg in cfg["receivers"].items():
        for proto, pcfg in (rcfg.get("protocols") or {}).items():
            out.append((int(pcfg["endpoint"].rsplit(":", 1)[1]), f"{rid}/{proto}"))
    for eid, ecfg in (cfg.get("extensions") or {}).items():
        if "endpoint" in (ecfg or {}):
            out.append((int(ecfg["endpoint"].rsplit(":", 1)[1]), eid))
    return out


def published(service: dict[str, Any]) -> dict[int, int]:
    """host port -> container port of a compose service."""
    out = {}
    for spec in service.get("ports", []):
        host, container = str(spec).split(":")[-2:]
        out[int(host)] = int(container)
    return out


def documented_ports(path: Path) -> set[int]:
    """Ports in the first column of a markdown table (`| 4317 | ... |`)."""
    return {int(m) for m in re.findall(r"^\|\s*`?(\d{2,5})`?\s*\|", path.read_text(), re.M)}


@pytest.mark.parametrize(
    ("compose_path", "service", "config"),
    [(COMPOSE, "otel-collector", MAIN), (COMPOSE_SCALED, "otel-agent", AGENT)],
    ids=["single", "scaled"],
)
def test_compose_publishes_the_collector_ports(compose_path: Path, service: str, config: Path) -> None:
    svc = load(compose_path)["services"][service]
    mount = next(v for v in svc["volumes"] if v.endswith("/etc/otelcol-contrib/config.yaml:ro"))
    assert (compose_path.parent / mount.split(":")[0]).resolve() == config.resolve()
    ports = published(svc)
    for port, what in receiver_ports(load(config)):
        assert ports.get(port) == port, f"{what} port {port} not published by {service}"


@pytest.mark.parametrize("compose_path", [COMPOSE, COMPOSE_SCALED], ids=["single", "scaled"])
def test_jaeger_reachable_and_ui_published(compose_path: Path) -> None:
    services = load(compose_path)["services"]
    cfg = load(SAMPLING if compose_path == COMPOSE_SCALED else MAIN)
    host, port = cfg["exporters"]["otlp/jaeger"]["endpoint"].rsplit(":", 1)
    assert host in services and port in [str(p) for p in services[host].get("expose", [])]
    assert published(services[host]).get(16686) == 16686


def test_documented_ports_match_compose() -> None:
    compose_ports = set()
    for svc in load(COMPOSE)["services"].values():
        compose_ports |= set(published(svc))
    assert documented_ports(DEPLOY_DOC) == compose_ports
    readme = ROOT / "README.md"
    if readme.exists() and documented_ports(readme):
        assert documented_ports(readme) == compose_ports
