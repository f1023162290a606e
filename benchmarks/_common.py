"""Shared pieces of the benchmarks: recorded responses behind a mock transport, the calls,
the tracer setup, and one installer per configuration (ours and the peers).

Everything here is set up once per process; the timed loops only make SDK calls.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

__all__ = [
    "CASES",
    "CONFIGS",
    "Bench",
    "rss_bytes",
]

# -- recorded responses -------------------------------------------------------------------

_CASSETTES = ROOT / "tests" / "cassettes" / "openllmetry"


def _recorded(relative: str, index: int = -1) -> Any:
    from tests.cassettes import load  # the repo's own decoder (gzip, SSE)

    return load(_CASSETTES / relative)[index]


def _stream_body(events: List[dict], chunks: int) -> bytes:
    """A recorded chat stream stretched/cut to exactly ``chunks`` chunks: the recorded first
    chunk (role), recorded content chunks cycled, the recorded last chunk (finish + usage)."""
    first, middle, last = events[0], events[1:-1], events[-1]
    body = [first] + [middle[i % len(middle)] for i in range(chunks - 2)] + [last]
    return b"".join(b"data: " + json.dumps(e, separators=(",", ":")).encode() + b"\n\n" for e in body) + (
        b"data: [DONE]\n\n"
    )


class Fixtures:
    def __init__(self) -> None:
        self.chat = _recorded("test_chat/test_chat.yaml").body
        self.embeddings = _recorded("test_embeddings/test_embeddings.yaml").body
        self.responses = _recorded("test_responses/test_responses.yaml").body
        events = _recorded("test_chat/test_chat_streaming.yaml", 0).events()
        self.streams = {n: _stream_body(events, n) for n in (20, 200)}


# A realistic multi-turn prompt: system + one earlier exchange + the new user message, a few
# hundred bytes, with one (fake) credential in the new message so that scanning finds something
# and redaction has work to do. Like real traffic, every call re-sends the same system prompt and
# history and only the last user message is new: `_turn` makes it unique per call (a counter), so
# a cache of scan results is neither credited for re-scanning identical prompts nor left unused.
FAKE_TOKEN = "ghp_" + "q8R2xT7mN4vK9pL3wZ6cY1bH5jF0dS2aE8uQ"
MESSAGES = [
    {"role": "system", "content": "You are a concise assistant for an SRE team. Answer in two sentences."},
    {"role": "user", "content": "We moved the API image to the GitHub container registry last week."},
    {"role": "assistant", "content": "Noted: pushes now go to ghcr.io and need a token with write:packages."},
    {
        "role": "user",
        "content": (
            "Our deploy job fails with 'permission denied' when pushing the image. The CI "
            f"config sets GITHUB_TOKEN={FAKE_TOKEN} and the registry is ghcr.io/acme/api. "
            "What is the most likely cause and how do we fix it?"
        ),
    },
]
# The same conversation with nothing for the scanner to find (the common case).
MESSAGES_CLEAN = [
    *MESSAGES[:-1],
    {"role": "user", "content": MESSAGES[-1]["content"].replace(FAKE_TOKEN, "${{ secrets.GITHUB_TOKEN }}")},
]
_TURNS = itertools.count(1)


# The credential differs per call too (4096 distinct tokens, cycled, longer than any memo of the
# scanner's holds): a new secret is scanned as new, not answered from a memo of the last call's.
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TOKENS = [
    "ghp_" + "".join(_ALNUM[(i * 7919 + j * 104729 + (i >> (j % 7))) % 62] for j in range(36)) for i in range(4096)
]


def _turn(messages: List[dict]) -> List[dict]:
    """``messages`` with the last (user) message made unique for this call (and its token, if any)."""
    last = messages[-1]
    n = next(_TURNS)
    content = last["content"].replace(FAKE_TOKEN, _TOKENS[n % len(_TOKENS)])
    return [*messages[:-1], {"role": last["role"], "content": f"{content} (build #{n})"}]


RESPONSES_INPUT = "What is the capital of France? Answer in one short sentence."
EMBED_INPUT = "Tell me a joke about opentelemetry"


def _transport(fx: Fixtures) -> Any:
    import httpx2

    json_headers = {"content-type": "application/json"}
    sse_headers = {"content-type": "text/event-stream"}
    by_path = {
        "/v1/chat/completions": fx.chat,
        "/v1/embeddings": fx.embeddings,
        "/v1/responses": fx.responses,
    }

    def handler(request: Any) -> Any:
        path = request.url.path
        chunks = request.headers.get("x-bench-chunks")
        if chunks:
            return httpx2.Response(200, content=fx.streams[int(chunks)], headers=sse_headers)
        return httpx2.Response(200, content=by_path[path], headers=json_headers)

    return httpx2.MockTransport(handler)


def make_clients(fx: Fixtures) -> Tuple[Any, Any]:
    import openai

    transport = _transport(fx)
    common = dict(api_key="sk-bench", base_url="https://api.openai.com/v1", max_retries=0)
    sync = openai.OpenAI(http_client=openai.DefaultHttpxClient(transport=transport), **common)
    aio = openai.AsyncOpenAI(http_client=openai.DefaultAsyncHttpxClient(transport=transport), **common)
    return sync, aio


# -- the calls ----------------------------------------------------------------------------


def _chat(client: Any) -> Any:
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=_turn(MESSAGES), temperature=0.2, max_tokens=200
    )


def _chat_clean(client: Any) -> Any:
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=_turn(MESSAGES_CLEAN), temperature=0.2, max_tokens=200
    )


def _stream(client: Any, n: int) -> Any:
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=_turn(MESSAGES), stream=True, stream_options={"include_usage": True},
        extra_headers={"x-bench-chunks": str(n)},
    )
    count = 0
    for _ in stream:
        count += 1
    assert count == n, count
    return count


async def _astream(client: Any, n: int) -> Any:
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=_turn(MESSAGES), stream=True, stream_options={"include_usage": True},
        extra_headers={"x-bench-chunks": str(n)},
    )
    count = 0
    async for _ in stream:
        count += 1
    assert count == n, count
    return count


def _embed(client: Any) -> Any:
    return client.embeddings.create(model="text-embedding-3-small", input=EMBED_INPUT)


def _responses(client: Any) -> Any:
    return client.responses.create(model="gpt-4.1-nano", input=RESPONSES_INPUT)


async def _achat(client: Any) -> Any:
    return await _chat(client)


async def _aembed(client: Any) -> Any:
    return await _embed(client)


async def _aresponses(client: Any) -> Any:
    return await _responses(client)


# case name -> (is_async, function(client), calls per batch at full size)
CASES: Dict[str, Tuple[bool, Callable[[Any], Any], int]] = {
    "chat": (False, _chat, 60),
    "chat_async": (True, _achat, 60),
    "chat_clean": (False, _chat_clean, 60),
    "stream200": (False, lambda c: _stream(c, 200), 8),
    "stream200_async": (True, lambda c: _astream(c, 200), 8),
    "stream20": (False, lambda c: _stream(c, 20), 30),
    "stream20_async": (True, lambda c: _astream(c, 20), 30),
    "embeddings": (False, _embed, 60),
    "embeddings_async": (True, _aembed, 60),
    "responses": (False, _responses, 60),
    "responses_async": (True, _aresponses, 60),
}

# -- configurations ---------------------------------------------------------------------------

CONFIGS: Dict[str, str] = {
    "none": "uninstrumented",
    "floor": "one bare SDK span, 22 attributes, around each call",
    "floor-metrics": "floor + the 3 histogram points semconv asks of a chat call "
    "(duration, input and output tokens; 7 attributes each)",
    "ours-off": "cylestio, content off",
    "ours-lean": "cylestio, content off, per_chunk_metrics=False (no time_per_output_chunk)",
    "ours-on": "cylestio, content SPAN_ONLY (no scanning)",
    "ours-sec": "cylestio, content SPAN_ONLY + SecurityScanningSpanProcessor",
    "official": "opentelemetry-instrumentation-genai-openai, SPAN_ONLY",
    "openllmetry": "opentelemetry-instrumentation-openai (OpenLLMetry), content on",
    "openinference": "openinference-instrumentation-openai, content on",
}

# the attributes semconv puts on the GenAI client metrics (those of them the floor span has)
_METRIC_KEYS = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model",
                "server.address", "server.port", "openai.response.service_tier")

FLOOR_ATTRIBUTES: Dict[str, Any] = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "server.address": "api.openai.com",
    "server.port": 443,
    "gen_ai.request.temperature": 0.2,
    "gen_ai.request.max_tokens": 200,
    "gen_ai.request.top_p": 1.0,
    "gen_ai.request.frequency_penalty": 0.0,
    "gen_ai.request.presence_penalty": 0.0,
    "gen_ai.request.seed": 42,
    "gen_ai.request.stream": False,
    "gen_ai.output.type": "text",
    "gen_ai.response.id": "chatcmpl-DPTMnBEiSFiGbsTeSSstpHetixHEm",
    "gen_ai.response.model": "gpt-3.5-turbo-0125",
    "gen_ai.response.finish_reasons": ("stop",),
    "gen_ai.usage.input_tokens": 15,
    "gen_ai.usage.output_tokens": 19,
    "gen_ai.usage.cache_read.input_tokens": 0,
    "gen_ai.usage.reasoning.output_tokens": 0,
    "openai.response.service_tier": "default",
    "openai.response.system_fingerprint": "fp_2b778c6b35",
}
assert len(FLOOR_ATTRIBUTES) == 22


def security_processor_class() -> Optional[type]:
    try:
        from cylestio_monitor.security import SecurityScanningSpanProcessor  # type: ignore[attr-defined]
    except ImportError:
        return None
    return SecurityScanningSpanProcessor  # type: ignore[no-any-return]


def available(config: str) -> Optional[str]:
    """None if ``config`` can run here, else the reason it cannot."""
    from importlib.util import find_spec

    need = {
        "official": "opentelemetry.instrumentation.genai.openai",
        "openllmetry": "opentelemetry.instrumentation.openai",
        "openinference": "openinference.instrumentation.openai",
    }.get(config)
    try:
        if need and find_spec(need) is None:
            return f"{need} not installed (pip install -e '.[bench]')"
    except ModuleNotFoundError:
        return f"{need} not installed (pip install -e '.[bench]')"
    if config == "ours-sec" and security_processor_class() is None:
        return "SecurityScanningSpanProcessor has not landed in cylestio_monitor.security yet"
    return None


_ENV = {
    "ours-on": {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"},
    "ours-sec": {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"},
    "ours-off": {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "NO_CONTENT"},
    "official": {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"},
    "openllmetry": {"TRACELOOP_TRACE_CONTENT": "true"},
}


class Bench:
    """One configuration in one process: providers, instrumentation, clients, timed batches."""

    def __init__(self, config: str, processor: str = "simple") -> None:
        os.environ.update(_ENV.get(config, {}))
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        self.config = config
        self.exporter = InMemorySpanExporter()
        export: Any = SimpleSpanProcessor(self.exporter) if processor == "simple" else BatchSpanProcessor(self.exporter)
        self.meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        if config == "ours-sec":  # scanning + redaction (secrets, the default) in front of the export processor
            cls = security_processor_class()
            assert cls is not None
            export = cls(export, meter_provider=self.meter_provider)
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(export)
        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)
        self._install(config)
        self.sync, self.aio = make_clients(Fixtures())
        self.loop = asyncio.new_event_loop()
        self.floor_tracer = self.tracer_provider.get_tracer("bench.floor") if config.startswith("floor") else None
        self.floor_metrics: Any = None
        if config == "floor-metrics":  # what any semconv instrumentation records per call, at least
            meter = self.meter_provider.get_meter("bench.floor")
            self.floor_metrics = (
                meter.create_histogram("gen_ai.client.operation.duration", unit="s"),
                meter.create_histogram("gen_ai.client.token.usage", unit="{token}"),
            )

    def _install(self, config: str) -> None:
        kwargs = dict(tracer_provider=self.tracer_provider, meter_provider=self.meter_provider)
        if config.startswith("ours"):
            from cylestio_monitor import OpenAIInstrumentor

            mode = "NO_CONTENT" if config in ("ours-off", "ours-lean") else "SPAN_ONLY"
            OpenAIInstrumentor().instrument(capture_content=mode, per_chunk_metrics=config != "ours-lean", **kwargs)
        elif config == "official":
            from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor as Official

            Official().instrument(**kwargs)
        elif config == "openllmetry":
            from opentelemetry.instrumentation.openai import OpenAIInstrumentor as Llmetry

            Llmetry().instrument(**kwargs)
        elif config == "openinference":
            from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInference

            OpenInference().instrument(tracer_provider=self.tracer_provider)

    def call(self, case: str) -> Any:
        """One call of ``case`` (untimed helper for profiling and memory runs)."""
        is_async, fn, _ = CASES[case]
        if is_async:
            return self.loop.run_until_complete(self._acall(fn))
        return self._call(fn)

    def _call(self, fn: Callable[[Any], Any]) -> Any:
        tracer = self.floor_tracer
        if tracer is None:
            return fn(self.sync)
        span = tracer.start_span("chat gpt-4o-mini", kind=_CLIENT, attributes=FLOOR_ATTRIBUTES)
        try:
            return fn(self.sync)
        finally:
            span.end()
            self._floor_points()

    async def _acall(self, fn: Callable[[Any], Any]) -> Any:
        tracer = self.floor_tracer
        if tracer is None:
            return await fn(self.aio)
        span = tracer.start_span("chat gpt-4o-mini", kind=_CLIENT, attributes=FLOOR_ATTRIBUTES)
        try:
            return await fn(self.aio)
        finally:
            span.end()
            self._floor_points()

    def _floor_points(self) -> None:
        if self.floor_metrics is None:
            return
        duration, tokens = self.floor_metrics
        attrs = {k: FLOOR_ATTRIBUTES[k] for k in _METRIC_KEYS if k in FLOOR_ATTRIBUTES}
        duration.record(0.5, attrs)
        tokens.record(57, {**attrs, "gen_ai.token.type": "input"})
        tokens.record(12, {**attrs, "gen_ai.token.type": "output"})

    def batch(self, case: str, n: int, clock: Callable[[], float] = time.process_time) -> float:
        """Seconds per call, over ``n`` back-to-back calls of ``case``.

        The default clock is this process's CPU time (all its threads, so a batch processor's
        export thread counts too): on a shared machine it is far steadier than wall time,
        and the work we add is CPU work (the transport is in memory, nothing waits).
        """
        perf_counter = clock

        is_async, fn, _ = CASES[case]
        if is_async:

            async def many() -> float:
                start = perf_counter()
                for _ in range(n):
                    await self._acall(fn)
                return perf_counter() - start

            elapsed = self.loop.run_until_complete(many())
        else:
            call = self._call
            start = perf_counter()
            for _ in range(n):
                call(fn)
            elapsed = perf_counter() - start
        return elapsed / n

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()
        self.tracer_provider.shutdown()

    def drain(self) -> int:
        """Flush and drop exported spans (outside the timed loops). Returns how many there were."""
        self.tracer_provider.force_flush()
        count = len(self.exporter.get_finished_spans())
        self.exporter.clear()
        return count


def _client_kind() -> Any:
    from opentelemetry.trace import SpanKind

    return SpanKind.CLIENT


_CLIENT = _client_kind()


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")
