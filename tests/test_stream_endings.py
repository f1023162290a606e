"""Every way a stream can end x sync/async x chat, completions and responses.

The SSE bodies are real recordings served by a mock transport, cut where an ending needs
it. Each ending must end the span exactly once with the right status; a stream cut short
records ``error`` among the finish reasons and keeps the id, model, usage and output it
had gathered so far.

| ending            | how                                                  | status | finish reasons     |
|-------------------|------------------------------------------------------|--------|--------------------|
| exhausted         | read to the end                                      | UNSET  | the recorded ones  |
| break_close       | ``break`` after a few chunks, then ``close()``       | UNSET  | ... + ``error``    |
| with_exit         | leave ``with`` after a few chunks                    | UNSET  | ... + ``error``    |
| user_exception    | ``raise`` inside the loop, inside ``with``           | ERROR  | ... + ``error``    |
| server_error      | the server sends an SSE ``error`` event mid-stream   | ERROR  | ... + ``error``    |
| connection_lost   | the connection drops mid-body                        | ERROR  | ... + ``error``    |
| truncated         | the body ends early, no end marker, no error raised  | UNSET  | ... + ``error``    |
| cancelled (async) | the task is cancelled while awaiting the next chunk  | ERROR  | ... + ``error``    |
| garbage_collected | abandoned after a few chunks, then collected         | UNSET  | ... + ``error``    |
"""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any, Dict, List, Optional

import openai
import pytest
from opentelemetry.trace import StatusCode

from cylestio_monitor.instrumentation import _semconv as sc

from . import mock_openai

SOURCES = {
    "chat": "otel-contrib/test_chat_completion_streaming.yaml",
    "completions": "openllmetry/test_completions/test_completion_streaming_with_events_with_no_content.yaml",
    "responses": "otel-contrib/test_responses_create_streaming[content_mode0].yaml",
}
ENDINGS = ["exhausted", "break_close", "with_exit", "user_exception", "server_error", "connection_lost",
           "truncated", "cancelled", "garbage_collected"]
#: chunks the user reads before the stream is cut short (some text among them)
READS = {"chat": 4, "completions": 4, "responses": 7}


@pytest.fixture
def capture_content() -> str:
    return "SPAN_ONLY"


class UserError(Exception):
    pass


def _frames(endpoint: str) -> List[bytes]:
    """The recorded SSE body, one frame (event) per item, [DONE] included."""
    body = mock_openai.recorded(SOURCES[endpoint])
    return [frame + b"\n\n" for frame in body.split(b"\n\n") if frame.strip()]


def _payloads(frames: List[bytes]) -> List[dict]:
    out = []
    for frame in frames:
        for line in frame.decode().splitlines():
            if line.startswith("data:") and line[5:].strip() != "[DONE]":
                out.append(json.loads(line[5:]))
    return out


def _text(endpoint: str, payloads: List[dict]) -> str:
    """The output text the given chunks carry."""
    text = ""
    for p in payloads:
        if endpoint == "chat":
            text += "".join((c.get("delta") or {}).get("content") or "" for c in p.get("choices") or ())
        elif endpoint == "completions":
            text += "".join(c.get("text") or "" for c in p.get("choices") or ())
        elif p.get("type") == "response.output_text.delta":
            text += p["delta"]
    return text


def _error_frame(endpoint: str) -> bytes:
    if endpoint == "responses":  # the Responses API's own error event
        return b'event: error\ndata: {"type":"error","code":"server_error","message":"boom","param":null,' \
               b'"sequence_number":99}\n\n'
    return b'data: {"error":{"message":"boom","type":"server_error","param":null,"code":null}}\n\n'


class _Body:
    """A response body yielding one frame at a time; may fail or hang after the frames."""

    def __init__(self, frames: List[bytes], then: Optional[str]) -> None:
        self.frames = frames
        self.then = then

    def __iter__(self) -> Any:
        yield from self.frames
        if self.then == "drop":
            raise mock_openai.httpx.RemoteProtocolError("peer closed connection without sending complete message")

    async def __aiter__(self) -> Any:
        for frame in self.frames:
            yield frame
        if self.then == "drop":
            raise mock_openai.httpx.RemoteProtocolError("peer closed connection without sending complete message")
        if self.then == "hang":
            await asyncio.Event().wait()


class _SyncStream(mock_openai.httpx.SyncByteStream):
    def __init__(self, body: _Body) -> None:
        self.body = body

    def __iter__(self) -> Any:
        return iter(self.body)


class _AsyncStream(mock_openai.httpx.AsyncByteStream):
    def __init__(self, body: _Body) -> None:
        self.body = body

    def __aiter__(self) -> Any:
        return self.body.__aiter__()


def _client(endpoint: str, ending: str, is_async: bool) -> Any:
    frames = _frames(endpoint)
    READ = READS[endpoint]
    then = None
    if ending == "server_error":
        frames = [*frames[:READ], _error_frame(endpoint)]
    elif ending == "connection_lost":
        frames, then = frames[:READ], "drop"
    elif ending == "truncated":
        frames = frames[:READ]
    elif ending == "cancelled":
        frames, then = frames[:READ], "hang"
    body = _Body(frames, then)

    def handle(request: Any) -> Any:
        request.read()
        stream = _AsyncStream(body) if is_async else _SyncStream(body)
        return mock_openai.httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)

    return mock_openai.client(handle, is_async)


def _create(client: Any, endpoint: str) -> Any:
    if endpoint == "chat":
        messages = [{"role": "user", "content": "Say this is a test"}]
        return client.chat.completions.create(model="gpt-4", messages=messages, stream=True,
                                              extra_body={"stream_options": {"include_usage": True}})
    if endpoint == "completions":
        return client.completions.create(model="davinci-002", prompt="Tell me a joke about opentelemetry",
                                         stream=True)
    return client.responses.create(model="gpt-4o-mini", input="Say this is a test", stream=True)


def _sync(endpoint: str, ending: str) -> Dict[str, Any]:
    """Drive the stream to ``ending``; return what the user saw and raised."""
    stream = _create(_client(endpoint, ending, False), endpoint)
    READ = READS[endpoint]
    seen: List[Any] = []
    raised: Optional[BaseException] = None
    try:
        if ending in ("exhausted", "server_error", "connection_lost", "truncated"):
            for chunk in stream:
                seen.append(chunk)
        elif ending == "break_close":
            for chunk in stream:
                seen.append(chunk)
                if len(seen) == READ:
                    break
            stream.close()
        elif ending in ("with_exit", "user_exception"):
            with stream as s:
                for chunk in s:
                    seen.append(chunk)
                    if len(seen) == READ:
                        if ending == "user_exception":
                            raise UserError("the user's own bug")
                        break
        elif ending == "garbage_collected":
            for chunk in stream:
                seen.append(chunk)
                if len(seen) == READ:
                    break
            del stream, chunk
            gc.collect()
    except BaseException as exc:  # recorded, checked by the caller
        raised = exc
    return {"seen": seen, "raised": raised}


async def _async(endpoint: str, ending: str) -> Dict[str, Any]:
    stream = await _create(_client(endpoint, ending, True), endpoint)
    READ = READS[endpoint]
    seen: List[Any] = []
    raised: Optional[BaseException] = None
    try:
        if ending in ("exhausted", "server_error", "connection_lost", "truncated"):
            async for chunk in stream:
                seen.append(chunk)
        elif ending == "break_close":
            async for chunk in stream:
                seen.append(chunk)
                if len(seen) == READ:
                    break
            await stream.close()
        elif ending in ("with_exit", "user_exception"):
            async with stream as s:
                async for chunk in s:
                    seen.append(chunk)
                    if len(seen) == READ:
                        if ending == "user_exception":
                            raise UserError("the user's own bug")
                        break
        elif ending == "cancelled":
            async def consume() -> None:
                async for chunk in stream:
                    seen.append(chunk)

            task = asyncio.ensure_future(consume())
            while len(seen) < READ:
                await asyncio.sleep(0)
            await asyncio.sleep(0.01)  # now blocked awaiting the next chunk
            task.cancel()
            try:
                await task
            except asyncio.CancelledError as exc:
                raised = exc
        elif ending == "garbage_collected":
            async for chunk in stream:
                seen.append(chunk)
                if len(seen) == READ:
                    break
            del stream, chunk
            gc.collect()
    except BaseException as exc:
        raised = exc
    return {"seen": seen, "raised": raised}


def _expected_error(endpoint: str, ending: str, is_async: bool) -> Optional[str]:
    """The ``error.type`` the span must carry (None: status UNSET)."""
    if ending == "user_exception":
        return f"{UserError.__module__}.UserError"
    if ending == "server_error":
        # chat/completions: the SDK raises; responses: the SDK yields the error event
        return "server_error" if endpoint == "responses" else "openai.APIError"
    if ending == "connection_lost":
        return "openai.APIConnectionError"
    if ending == "cancelled":
        return "asyncio.exceptions.CancelledError"
    return None


MATRIX = [(e, n, a) for e in SOURCES for n in ENDINGS for a in (False, True) if not (n == "cancelled" and not a)]


@pytest.mark.parametrize(("endpoint", "ending", "is_async"), MATRIX,
                         ids=[f"{e}-{n}-{'async' if a else 'sync'}" for e, n, a in MATRIX])
async def test_stream_ending(endpoint, ending, is_async, instrument, span_exporter):
    if endpoint == "responses" and not hasattr(openai.OpenAI, "responses"):
        pytest.skip(f"openai {openai.__version__} has no Responses API")
    if ending in ("break_close", "with_exit", "user_exception") and not hasattr(openai.Stream, "close"):
        pytest.skip(f"openai {openai.__version__} streams have no close() / context manager")
    outcome = await _async(endpoint, ending) if is_async else _sync(endpoint, ending)
    gc.collect()  # a second ending (GC after close) must not end the span again

    spans = span_exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    span = spans[0]
    attrs = dict(span.attributes)
    READ = READS[endpoint]
    frames = _frames(endpoint)
    recorded = _payloads(frames)
    served = recorded if ending == "exhausted" else _payloads(frames[:READ])

    # what the user saw and raised is what the SDK gives without us
    raised = outcome["raised"]
    if ending == "user_exception":
        assert isinstance(raised, UserError)
    elif ending == "server_error" and endpoint != "responses":
        assert isinstance(raised, openai.APIError)
    elif ending == "connection_lost":
        # newer SDKs wrap the transport error; early 1.x let httpx's own error through
        assert isinstance(raised, (openai.APIConnectionError, mock_openai.httpx.RemoteProtocolError)), raised
    elif ending == "cancelled":
        assert isinstance(raised, asyncio.CancelledError)
    else:
        assert raised is None, raised

    # status and error.type
    error = _expected_error(endpoint, ending, is_async)
    if ending == "connection_lost":  # whichever class the installed SDK raised
        error = f"{type(raised).__module__}.{type(raised).__qualname__}"
    if error is None:
        assert span.status.status_code is StatusCode.UNSET
        assert sc.ERROR_TYPE not in attrs
    else:
        assert span.status.status_code is StatusCode.ERROR
        assert attrs[sc.ERROR_TYPE] == error

    # finish reasons: the recorded ones when read to the end, "error" among them otherwise
    reasons = list(attrs[sc.RESPONSE_FINISH_REASONS])
    if ending == "exhausted":
        assert "error" not in reasons
        usage = [p.get("usage") or (p.get("response") or {}).get("usage") for p in recorded]
        usage = [u for u in usage if u]
        if usage:  # chat with include_usage, responses; this completions recording has none
            want = usage[-1].get("completion_tokens", usage[-1].get("output_tokens"))
            assert attrs[sc.USAGE_OUTPUT_TOKENS] == want
    else:
        assert "error" in reasons

    # what was gathered so far is kept: id, model, the output text read
    first = recorded[0] if endpoint != "responses" else recorded[0]["response"]
    assert attrs[sc.RESPONSE_ID] == first["id"]
    assert attrs[sc.RESPONSE_MODEL] == first["model"]
    output = json.loads(attrs[sc.OUTPUT_MESSAGES])
    text = "".join(p.get("content") or "" for m in output for p in m["parts"] if p["type"] == "text")
    if ending in ("exhausted", "truncated", "server_error", "connection_lost", "cancelled"):
        assert text == _text(endpoint, served)  # every chunk the server sent
    else:
        assert text == _text(endpoint, served[:READ])
    if ending == "exhausted":
        assert len(outcome["seen"]) == len(recorded)
    elif ending == "server_error" and endpoint == "responses":
        assert len(outcome["seen"]) == READ + 1  # the SDK hands the error event to the user
        assert outcome["seen"][-1].type == "error"
    else:
        assert len(outcome["seen"]) == READ
    if ending != "exhausted":
        assert text  # something was said before the cut, and kept
