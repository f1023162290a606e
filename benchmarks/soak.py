"""Soak: many instrumented openai calls through the whole pipeline, with an exporter outage.

    python benchmarks/soak.py [--calls 50000] [--outage 0.4:0.6]

Mixed streamed / non-streamed chat calls (recorded bodies, served by ``httpx2.MockTransport``),
content capture on, ``SecurityScanningSpanProcessor`` in front of a ``BatchSpanProcessor`` exporting
over OTLP/HTTP to a real receiver (tests/otlp_receiver.py) that is stopped for a slice of the run.
Prints calls, RSS at start/end, and spans exported vs dropped.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from tests.otlp_receiver import OTLPReceiver
from tests.reliability import _traffic as t

from cylestio_monitor.instrumentation import OpenAIInstrumentor


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def dropped(reader: InMemoryMetricReader) -> int:
    data = reader.get_metrics_data()
    total = 0
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == "otel.sdk.processor.span.processed":
                    total += sum(p.value for p in metric.data.data_points if p.attributes.get("error.type"))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--outage", default="0.4:0.6", help="fraction of the run with the receiver down")
    args = parser.parse_args()
    down_at, up_at = (int(float(x) * args.calls) for x in args.outage.split(":"))
    os.environ["OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED"] = "true"
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from cylestio_monitor.security import SecurityScanningSpanProcessor

    rx = OTLPReceiver().start()
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    bsp = BatchSpanProcessor(OTLPSpanExporter(endpoint=rx.http_url("traces"), timeout=2),
                             meter_provider=meters, schedule_delay_millis=200)
    provider = TracerProvider()
    provider.add_span_processor(SecurityScanningSpanProcessor(bsp, meter_provider=meters))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider, meter_provider=meters, capture_content="SPAN_ONLY")

    servers = (t.Server(t.from_interaction(t.PLAIN)), t.Server(t.from_interaction(t.STREAM)))
    plain, stream = t.client(servers[0], False), t.client(servers[1], False)
    secret = "my key is sk-proj-" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7" * 2  # something for the scanner to find
    gc.collect()
    rss_start = rss_mib()
    start = time.perf_counter()
    exported_before_outage = 0
    exported = 0

    def drain() -> int:  # the in-process receiver keeps every payload: count and forget them
        spans = len({s["span_id"] for s in rx.spans()})
        rx.clear()
        return spans

    for i in range(args.calls):
        if i == down_at:
            bsp.force_flush(10_000)
            exported += drain()
            exported_before_outage = exported
            rx.stop()
            print(f"[{i}] receiver down", flush=True)
        if i == up_at:
            rx.start()
            print(f"[{i}] receiver up", flush=True)
        messages = [{"role": "user", "content": f"call {i}: {secret if i % 10 == 0 else 'Say this is a test'}"}]
        if i % 3 == 0:
            for _ in stream.chat.completions.create(model="gpt-4", messages=messages, stream=True,
                                                    stream_options={"include_usage": True}):
                pass
        else:
            plain.chat.completions.create(model="gpt-4", messages=messages)
        if i % 1000 == 0:
            for server in servers:  # the mock server records requests: forget them
                server.requests.clear()
        if i and i % 10_000 == 0:
            if rx.running:
                exported += drain()
            print(f"[{i}] {time.perf_counter() - start:.1f} s, RSS {rss_mib():.1f} MiB", flush=True)
    elapsed = time.perf_counter() - start
    bsp.force_flush(30_000)
    time.sleep(0.5)
    gc.collect()
    rss_end = rss_mib()
    exported += drain()
    lost = dropped(reader)
    instrumentor.uninstrument()
    provider.shutdown()
    rx.stop()
    print(f"calls:              {args.calls} ({elapsed:.1f} s, {elapsed / args.calls * 1e6:.0f} us/call)")
    print(f"RSS start/end:      {rss_start:.1f} MiB / {rss_end:.1f} MiB")
    print(f"spans exported:     {exported} (before the outage: {exported_before_outage})")
    print(f"spans dropped:      {lost} (counted by the SDK processor metric)")
    print(f"unaccounted:        {args.calls - exported - lost}")


if __name__ == "__main__":
    main()
