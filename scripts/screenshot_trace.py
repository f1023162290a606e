"""Make docs/images/trace.png: a real trace with a security finding, shown in a trace UI.

    python scripts/screenshot_trace.py [--out docs/images/trace.png]

Starts Arize Phoenix on 127.0.0.1 (from the venv named by CYLESTIO_PHOENIX_BIN, default
.venv-phoenix/bin/phoenix; see .ci/run), starts the examples' offline OpenAI-compatible server,
runs a small agent through ``start_monitoring`` exporting OTLP/HTTP to Phoenix (one prompt carries
a planted API key), then opens the trace with that finding in headless Chromium (Debian's
``chromium`` package) and saves a screenshot. No network beyond 127.0.0.1 is used.
(Jaeger has no build on PyPI or Debian, so the screenshot is of Phoenix.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

from _local_server import LocalOpenAIServer  # noqa: E402
from tests.backends.phoenix import PROJECT_ATTRIBUTE, PhoenixServer  # noqa: E402

PROJECT = "cylestio-demo"
PLANTED = "sk-proj-Xq7Lm2Pz9Rt4Vb8Nc1Kd6Wf3Hj5Gs0Ya2Ue"  # fake key, the finding to show
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--force-device-scale-factor=1",
]


def run_agent(phoenix: PhoenixServer, base_url: str) -> None:
    import openai
    from opentelemetry import trace

    from cylestio_monitor import start_monitoring, stop_monitoring

    start_monitoring(
        agent_id="support-agent",
        endpoint=phoenix.traces_url,
        protocol="http/protobuf",
        exporter="otlp",
        metrics=False,  # Phoenix takes traces only
        resource_attributes={PROJECT_ATTRIBUTE: PROJECT},
    )
    try:
        client = openai.OpenAI(base_url=base_url, api_key="offline-example", max_retries=0)
        tracer = trace.get_tracer("screenshot-demo")
        with tracer.start_as_current_span("support-agent run"):
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "What is OpenTelemetry, in one sentence?"}],
            )
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[
                    {"role": "system", "content": "You are a deployment assistant."},
                    {"role": "user",
                     "content": f"Deploy with key {PLANTED} and mail ops@example.com when done."},
                ],
            )
    finally:
        stop_monitoring()


def finding_url(phoenix: PhoenixServer) -> str:
    spans = phoenix.wait_for_spans(PROJECT, 3)
    with_finding = [s for s in spans if (s["attributes"].get("cylestio.security.findings.count") or 0) > 0]
    if not with_finding:
        raise SystemExit("no span with a security finding arrived in Phoenix: is the security processor on?")
    span = with_finding[0]
    exported = repr(spans)
    if PLANTED in exported:
        raise SystemExit("the planted key reached Phoenix unredacted")
    [project] = [p for p in phoenix.get_json("/v1/projects")["data"] if p["name"] == PROJECT]
    return (f"{phoenix.url}/projects/{project['id']}/traces/{span['context']['trace_id']}"
            f"?selectedSpanNodeId={span['id']}")


def screenshot(chromium: str, url: str, out: Path, size: str) -> None:
    with tempfile.TemporaryDirectory(prefix="cylestio-chromium-") as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
               "--virtual-time-budget=20000", f"--screenshot={out}", url]
        subprocess.run(cmd, check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "trace.png")
    ap.add_argument("--phoenix-bin", default=os.environ.get(
        "CYLESTIO_PHOENIX_BIN", str(ROOT / ".venv-phoenix" / "bin" / "phoenix")))
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--size", default="1440,900", help="window size W,H")
    ap.add_argument("--keep-running", action="store_true", help="leave Phoenix up to look around")
    args = ap.parse_args()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    server = LocalOpenAIServer()
    base_url = server.start()
    with tempfile.TemporaryDirectory(prefix="cylestio-phoenix-") as work, \
            PhoenixServer(args.phoenix_bin, Path(work)) as phoenix:
        print(f"phoenix ready in {phoenix.startup_seconds:.1f}s at {phoenix.url}")
        run_agent(phoenix, base_url)
        url = finding_url(phoenix)
        print(f"trace: {url}")
        screenshot(args.chromium, url, args.out, args.size)
        print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)")
        if args.keep_running:
            print("Phoenix keeps running; Ctrl-C to stop")
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
    server.stop()


if __name__ == "__main__":
    main()
