"""Start a real Arize Phoenix server (``phoenix serve``) on 127.0.0.1 for tests and scripts.

Phoenix pins many packages, so it lives in its own virtualenv (``.ci/run`` makes ``.venv-phoenix``
and exports ``CYLESTIO_PHOENIX_BIN`` = the path of its ``phoenix`` script). Telemetry, external
resources and the agent assistant are switched off; data goes to a throw-away working dir.

    with PhoenixServer(os.environ["CYLESTIO_PHOENIX_BIN"], workdir) as px:
        exporter = OTLPSpanExporter(endpoint=px.traces_url)         # OTLP/HTTP
        ...
        spans = px.wait_for_spans("my-project", 1)                   # GET /v1/projects/{name}/spans
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Optional

__all__ = ["PROJECT_ATTRIBUTE", "PhoenixServer", "free_port"]

# Resource attribute Phoenix files spans under (OpenInference convention); default project "default".
PROJECT_ATTRIBUTE = "openinference.project.name"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PhoenixServer:
    def __init__(self, phoenix_bin: str, workdir: Path, startup_timeout: float = 180.0) -> None:
        self.bin = phoenix_bin
        self.workdir = Path(workdir)
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.grpc_port = free_port()
        self.log_path = self.workdir / "phoenix.log"
        self._proc: Optional[subprocess.Popen[bytes]] = None
        self.startup_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def traces_url(self) -> str:
        """OTLP/HTTP traces endpoint."""
        return f"{self.url}/v1/traces"

    @property
    def grpc_endpoint(self) -> str:
        """OTLP/gRPC endpoint (use ``insecure=True``)."""
        return f"http://127.0.0.1:{self.grpc_port}"

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PHOENIX_"))}
        env.update(
            PHOENIX_HOST="127.0.0.1",
            PHOENIX_PORT=str(self.port),
            PHOENIX_GRPC_PORT=str(self.grpc_port),
            PHOENIX_WORKING_DIR=str(self.workdir),
            PHOENIX_TELEMETRY_ENABLED="false",
            PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
            PHOENIX_DISABLE_AGENT_ASSISTANT="true",
            PHOENIX_AGENTS_DISABLE_BASH="true",
            PHOENIX_AGENTS_DISABLE_WEB_ACCESS="true",
        )
        return env

    def start(self) -> PhoenixServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [self.bin, "serve"], env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=self.workdir,
            )
        deadline = t0 + self.startup_timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"phoenix exited with {self._proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"phoenix not ready after {self.startup_timeout}s:\n{self.log_tail()}")
            time.sleep(0.3)
        self.startup_seconds = time.monotonic() - t0
        return self

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(20)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        self._proc = None

    def __enter__(self) -> PhoenixServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.loads(r.read())

    def spans(self, project: str) -> list[dict[str, Any]]:
        """All spans of ``project`` via the REST API (``GET /v1/projects/{name}/spans``)."""
        out: list[dict[str, Any]] = []
        cursor = None
        base = f"/v1/projects/{urllib.parse.quote(project, safe='')}/spans?limit=100"
        while True:
            try:
                page = self.get_json(base + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else ""))
            except urllib.error.HTTPError as err:
                if err.code == 404:  # project not created yet: nothing ingested
                    return []
                raise
            out.extend(page["data"])
            cursor = page.get("next_cursor")
            if not cursor:
                return out

    def wait_for_spans(self, project: str, n: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Poll until ``project`` has at least ``n`` spans (Phoenix ingests asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans(project)
            if len(spans) >= n:
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"phoenix: {len(spans)} span(s) in project {project!r} after {timeout}s, wanted {n}"
                )
            time.sleep(0.3)
