"""A small OpenAI-compatible server on 127.0.0.1, so the examples run offline.

Endpoints (canned, realistic bodies shaped like the real API's):
``POST /v1/chat/completions`` (incl. SSE streaming and ``stream_options.include_usage``),
``POST /v1/completions``, ``POST /v1/embeddings``, ``POST /v1/responses`` (incl. streaming).

Usage::

    from _local_server import openai_client_kwargs
    client = openai.OpenAI(**openai_client_kwargs())   # real API if OPENAI_API_KEY is set

Run it on its own with ``python examples/_local_server.py [port]``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List, Optional, Tuple

__all__ = ["LocalOpenAIServer", "openai_client_kwargs"]

MODEL = "gpt-4o-mini-2024-07-18"
REPLY = ("OpenTelemetry is an open standard for traces, metrics and logs. Cylestio Monitor records "
         "each OpenAI call as a GenAI span and scans its content for secrets and PII.")


def _tokens(text: str) -> int:
    return max(1, round(len(text.split()) * 1.3))


def _prompt_text(body: Dict[str, Any]) -> str:
    parts: List[str] = []
    for m in body.get("messages") or []:
        content = m.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    inp = body.get("input", body.get("prompt", ""))
    if isinstance(inp, str):
        parts.append(inp)
    elif isinstance(inp, list):
        parts.extend(json.dumps(i) if not isinstance(i, str) else i for i in inp)
    if body.get("instructions"):
        parts.append(str(body["instructions"]))
    return " ".join(parts)


def _usage(prompt: str, reply: str) -> Dict[str, Any]:
    p, c = _tokens(prompt), _tokens(reply)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}


def _chunks(text: str, size: int = 4) -> Iterator[str]:
    words = text.split(" ")
    for i in range(0, len(words), size):
        yield (" " if i else "") + " ".join(words[i:i + size])


def chat_completion(body: Dict[str, Any]) -> Dict[str, Any]:
    prompt = _prompt_text(body)
    n = int(body.get("n") or 1)
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex[:24], "object": "chat.completion", "created": int(time.time()),
        "model": MODEL, "service_tier": "default", "system_fingerprint": "fp_0ba0d124f1",
        "choices": [{"index": i, "message": {"role": "assistant", "content": REPLY, "refusal": None,
                                             "annotations": []},
                     "logprobs": None, "finish_reason": "stop"} for i in range(n)],
        "usage": _usage(prompt, REPLY),
    }


def chat_stream(body: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
    base = {"id": "chatcmpl-" + uuid.uuid4().hex[:24], "object": "chat.completion.chunk",
            "created": int(time.time()), "model": MODEL, "service_tier": "default",
            "system_fingerprint": "fp_0ba0d124f1"}
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    extra = {"usage": None} if include_usage else {}
    yield {**base, **extra, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "",
                                                                 "refusal": None},
                                         "logprobs": None, "finish_reason": None}]}
    for piece in _chunks(REPLY):
        yield {**base, **extra, "choices": [{"index": 0, "delta": {"content": piece}, "logprobs": None,
                                             "finish_reason": None}]}
    yield {**base, **extra, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}]}
    if include_usage:
        yield {**base, "choices": [], "usage": _usage(_prompt_text(body), REPLY)}


def completion(body: Dict[str, Any]) -> Dict[str, Any]:
    prompt = _prompt_text(body)
    usage = _usage(prompt, REPLY)
    return {"id": "cmpl-" + uuid.uuid4().hex[:24], "object": "text_completion", "created": int(time.time()),
            "model": "gpt-3.5-turbo-instruct", "system_fingerprint": None,
            "choices": [{"text": " " + REPLY, "index": 0, "logprobs": None, "finish_reason": "stop"}],
            "usage": {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens")}}


def embeddings(body: Dict[str, Any]) -> Dict[str, Any]:
    inputs = body.get("input")
    items = inputs if isinstance(inputs, list) else [inputs]
    dims = int(body.get("dimensions") or 8)
    data = [{"object": "embedding", "index": i,
             "embedding": [round(((hash(str(x)) >> (j % 32)) % 1000) / 1000 - 0.5, 6) for j in range(dims)]}
            for i, x in enumerate(items)]
    tokens = sum(_tokens(str(x)) for x in items)
    return {"object": "list", "data": data, "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def response(body: Dict[str, Any], status: str = "completed") -> Dict[str, Any]:
    prompt = _prompt_text(body)
    p, c = _tokens(prompt), _tokens(REPLY)
    rid = "resp_" + uuid.uuid4().hex
    return {
        "id": rid, "object": "response", "created_at": int(time.time()), "status": status,
        "error": None, "incomplete_details": None, "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"), "model": MODEL,
        "output": [] if status != "completed" else [{
            "type": "message", "id": "msg_" + uuid.uuid4().hex, "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": REPLY, "annotations": []}]}],
        "parallel_tool_calls": True, "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default", "store": True, "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [], "top_p": 1.0,
        "truncation": "disabled", "metadata": {},
        "usage": None if status != "completed" else {
            "input_tokens": p, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": c, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": p + c},
    }


def response_stream(body: Dict[str, Any]) -> Iterator[Dict[str, Any]]:
    final = response(body)
    seq = 0

    def event(kind: str, **fields: Any) -> Dict[str, Any]:
        nonlocal seq
        seq += 1
        return {"type": kind, "sequence_number": seq - 1, **fields}

    yield event("response.created", response={**final, "status": "in_progress", "output": [], "usage": None})
    item = final["output"][0]
    yield event("response.output_item.added", output_index=0,
                item={**item, "status": "in_progress", "content": []})
    part = {"type": "output_text", "text": "", "annotations": []}
    yield event("response.content_part.added", item_id=item["id"], output_index=0, content_index=0, part=part)
    for piece in _chunks(REPLY):
        yield event("response.output_text.delta", item_id=item["id"], output_index=0, content_index=0,
                    delta=piece, logprobs=[])
    yield event("response.output_text.done", item_id=item["id"], output_index=0, content_index=0,
                text=REPLY, logprobs=[])
    yield event("response.content_part.done", item_id=item["id"], output_index=0, content_index=0,
                part={**part, "text": REPLY})
    yield event("response.output_item.done", output_index=0, item=item)
    yield event("response.completed", response=final)


class _Handler(BaseHTTPRequestHandler):
    server_version = "local-openai/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send_json(self, code: int, payload: Dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", "req_" + uuid.uuid4().hex[:16])
        self.end_headers()
        self.wfile.write(data)

    def _send_sse(self, events: Iterator[Dict[str, Any]], named: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for ev in events:
            head = f"event: {ev['type']}\n" if named else ""
            self.wfile.write(f"{head}data: {json.dumps(ev)}\n\n".encode())
            self.wfile.flush()
        if not named:
            self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send_json(400, {"error": {"message": "invalid JSON body", "type": "invalid_request_error",
                                            "param": None, "code": None}})
            return
        path = self.path.split("?")[0].rstrip("/")
        stream = bool(body.get("stream"))
        if path.endswith("/chat/completions"):
            if stream:
                self._send_sse(chat_stream(body), named=False)
            else:
                self._send_json(200, chat_completion(body))
        elif path.endswith("/completions"):
            self._send_json(200, completion(body))
        elif path.endswith("/embeddings"):
            self._send_json(200, embeddings(body))
        elif path.endswith("/responses"):
            if stream:
                self._send_sse(response_stream(body), named=True)
            else:
                self._send_json(200, response(body))
        else:
            self._send_json(404, {"error": {"message": f"Unknown path {path}", "param": None,
                                            "type": "invalid_request_error", "code": "unknown_url"}})


class LocalOpenAIServer:
    """``with LocalOpenAIServer() as base_url: ...`` serves on 127.0.0.1 in a background thread."""

    def __init__(self, port: int = 0) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._thread: Optional[threading.Thread] = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-openai", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_shared: Optional[Tuple[LocalOpenAIServer, str]] = None


def openai_client_kwargs() -> Dict[str, Any]:
    """Keyword arguments for ``openai.OpenAI(...)``: the real API when OPENAI_API_KEY is set,
    else a local server started on 127.0.0.1 (once per process; it stops with the process)."""
    global _shared
    if os.environ.get("OPENAI_API_KEY"):
        return {}
    if _shared is None:
        server = LocalOpenAIServer()
        _shared = (server, server.start())
        print(f"(offline: using the local OpenAI-compatible server at {_shared[1]}; "
              "set OPENAI_API_KEY to call the real API)", file=sys.stderr)
    return {"base_url": _shared[1], "api_key": "offline-example", "max_retries": 0}


if __name__ == "__main__":
    srv = LocalOpenAIServer(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"serving on {srv.start()} (Ctrl-C to stop)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        srv.stop()
