"""Read the recorded OpenAI traffic in tests/cassettes/ (vcrpy YAML) as plain data.

The recorded bodies are the expected values of the replay tests: this module decodes
them (gzip, SSE) without going through our code or the SDK.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).parent / "cassettes"


@dataclass
class Interaction:
    cassette: Path
    index: int
    method: str
    uri: str
    path: str  # endpoint path after /v1, e.g. "/chat/completions"
    request: Any  # decoded JSON request body (or None)
    status: int
    body: bytes  # decoded response body
    headers: Dict[str, List[str]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.cassette.parent.name}/{self.cassette.stem}#{self.index}"

    @property
    def is_sse(self) -> bool:
        return self.body.lstrip().startswith(b"data:") or b"\ndata:" in self.body[:200]

    def json(self) -> Any:
        return json.loads(self.body)

    def events(self) -> List[Any]:
        """The JSON payloads of an SSE body, without the [DONE] marker."""
        out = []
        for line in self.body.decode("utf-8").splitlines():
            if line.startswith("data:"):
                data = line[5:].strip()
                if data and data != "[DONE]":
                    out.append(json.loads(data))
        return out


def _decode(response: Dict[str, Any]) -> bytes:
    raw = response["body"]["string"]
    body = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    if "gzip" in (headers.get("content-encoding") or []) or body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return body


def _path(uri: str) -> str:
    path = urlsplit(uri).path
    for prefix in ("/v1", "/openai/deployments/"):
        at = path.find(prefix)
        if at >= 0 and prefix == "/v1":
            return path[at + 3 :]
        if at >= 0:  # azure: /openai/deployments/<name>/<endpoint>
            return "/" + path[at + len(prefix) :].split("/", 1)[1]
    return path


def load(path: Path) -> List[Interaction]:
    data = yaml.load(path.read_text(), Loader=yaml.Loader)
    result = []
    for index, item in enumerate(data.get("interactions") or ()):
        request, response = item["request"], item["response"]
        body = request.get("body")
        try:
            decoded: Optional[Any] = json.loads(body) if body else None
        except (TypeError, ValueError):
            decoded = None
        result.append(
            Interaction(
                cassette=path,
                index=index,
                method=request["method"],
                uri=request["uri"],
                path=_path(request["uri"]),
                request=decoded,
                status=int(response["status"]["code"]),
                body=_decode(response),
                headers=response.get("headers") or {},
            )
        )
    return result


def interactions(endpoint: str) -> Iterator[Interaction]:
    """Every recorded interaction with ``endpoint`` (e.g. "/chat/completions"), all cassettes."""
    for path in sorted(ROOT.rglob("*.yaml")):
        for item in load(path):
            if item.path == endpoint and item.method == "POST" and isinstance(item.request, dict):
                yield item
