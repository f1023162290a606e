"""Micro-benchmark of ``SecurityScanningSpanProcessor.on_end`` (what it adds per GenAI span).

One SDK span per iteration, ended through the processor into an in-memory exporter, with the
channel content our instrumentation attaches and (``content on``) the JSON content attributes
it writes. Multi-turn like real traffic: the system prompt and history are the same on every
call, the last user message is unique (a counter). Reported: median us per span over
``--repeats`` timed runs, for the bare span (no processor) and the processor in each case.

    python benchmarks/profile_processor.py                # table
    python benchmarks/profile_processor.py --profile      # + cProfile of the content-on case
    python benchmarks/profile_processor.py --fresh-secret # a new token on every call

The validators' answers for short values are remembered (``Rule.accepts``, ``is_placeholder``),
so the same token on every call is judged once; ``--fresh-secret`` measures a secret the
processor has not seen before (a random token per call).
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import json
import pstats
import random
import statistics
import string
import time
from typing import Any, Callable, Dict, List

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cylestio_monitor import _channel
from cylestio_monitor.security import SecurityScanningSpanProcessor

TOKEN = "ghp_" + "fKtHF4vUCsMehGAkWvj7FAc9QeWJKY40uvSw"
SYSTEM = [{"type": "text", "content": "You are a helpful assistant for ACME support. Be concise."}]
HISTORY = [
    {"role": "user", "parts": [{"type": "text", "content": "Our deploys go to ghcr.io/acme/api since Monday."}]},
    {"role": "assistant", "parts": [{"type": "text", "content": "Noted: pushes need a token with write:packages."}]},
]
OUTPUT = [{"role": "assistant", "parts": [{"type": "text", "content": "Rotate the token in GitHub settings."}],
           "finish_reason": "stop"}]
_n = itertools.count()


def _dumps(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


_FRESH = False
_rnd = random.Random(7)


def _token() -> str:
    if not _FRESH:
        return TOKEN
    return "ghp_" + "".join(_rnd.choice(string.ascii_letters + string.digits) for _ in range(36))


def _messages(secret: bool) -> List[dict]:
    tail = f"token {_token()} please help" if secret else "please help"
    last = {"role": "user", "parts": [{"type": "text", "content": f"deploy #{next(_n)} fails: error 42, {tail}"}]}
    return [*HISTORY, last]


def _make(processor: bool) -> Any:
    exporter = InMemorySpanExporter()
    export: Any = SimpleSpanProcessor(exporter)
    proc = None
    if processor:
        proc = export = SecurityScanningSpanProcessor(export, meter_provider=MeterProvider())
    tp = TracerProvider()
    tp.add_span_processor(export)
    return tp.get_tracer("bench"), exporter, proc


def _one(tracer: Any, content_on: bool, secret: bool) -> None:
    msgs = _messages(secret)
    s = tracer.start_span("chat gpt-4o-mini", attributes={"gen_ai.operation.name": "chat"})
    content = _channel.GenAIContent(input_messages=msgs, system_instructions=SYSTEM, output_messages=OUTPUT)
    if content_on:
        # like the instrumentation: the attribute strings it wrote travel with the objects (content.encoded)
        encoded = {"input_messages": _dumps(msgs), "system_instructions": _dumps(SYSTEM),
                   "output_messages": _dumps(OUTPUT)}
        s.set_attribute("gen_ai.input.messages", encoded["input_messages"])
        s.set_attribute("gen_ai.system_instructions", encoded["system_instructions"])
        s.set_attribute("gen_ai.output.messages", encoded["output_messages"])
        content.encoded = encoded
    _channel.attach(s, content)
    s.end()


def _time(fn: Callable[[], None], exporter: Any, n: int, repeats: int) -> float:
    for _ in range(200):
        fn()
    exporter.clear()
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t) / n * 1e6)
        exporter.clear()
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--profile-secret", action="store_true", help="profile the case with a secret (default: clean)")
    ap.add_argument("--fresh-secret", action="store_true", help="a new random token on every call")
    args = ap.parse_args()
    global _FRESH
    _FRESH = args.fresh_secret
    bare_tracer, bare_exp, _ = _make(False)
    tracer, exp, proc = _make(True)
    rows: Dict[str, float] = {}
    for content_on in (False, True):
        for secret in (False, True):
            name = f"content {'on ' if content_on else 'off'}, {'secret' if secret else 'clean '}"
            base = _time(lambda c=content_on, s=secret: _one(bare_tracer, c, s), bare_exp, args.n, args.repeats)
            with_proc = _time(lambda c=content_on, s=secret: _one(tracer, c, s), exp, args.n, args.repeats)
            rows[name] = with_proc - base
            print(f"{name}: span {base:6.1f} us, + processor {with_proc - base:6.1f} us")
    cache = getattr(proc, "_cache", None)
    if cache is not None:
        print(f"scan cache: {len(cache)} entries, {cache.hits} hits, {cache.misses} misses")
    if args.profile:
        pr = cProfile.Profile()
        pr.enable()
        for _ in range(args.n):
            _one(tracer, True, args.profile_secret)
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(16)


if __name__ == "__main__":
    main()
