"""Resident memory over many calls: does instrumentation leak?

Each (configuration, case) runs in a fresh process: the real ``openai`` client over the
mock transport (recorded responses), the SDK tracer with an in-memory exporter behind a
simple processor, cleared every 50 calls (spans an exporter holds are not a leak: 1,000
content-on spans are ~4 MB), and
the SDK meter provider. RSS is sampled (after ``gc.collect()``) at the start, after every
1% of the calls, and at the end. Reported: RSS at start / half-way / end, the growth over
the first half and over the last half. A leak shows as growth in the last half; the first
half includes warm-up (allocator arenas, caches) and is informative only.

    .venv-bench/bin/python benchmarks/memory.py                 # 100k calls per case
    .venv-bench/bin/python benchmarks/memory.py --calls 10000   # quicker

The streamed case uses a 20-chunk stream (a 200-chunk one would take ~1 hour per 100k calls
on this machine); per-chunk state is covered by the 200-chunk case with ``--calls``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import available, rss_bytes

CASES = ("chat", "stream20", "chat_async", "stream20_async")
MB = 1024 * 1024


def child(config: str, case: str, calls: int) -> Dict[str, Any]:
    from _common import Bench

    bench = Bench(config, "simple")
    for _ in range(200):  # warm up
        bench.call(case)
    bench.drain()
    gc.collect()
    samples: List[int] = [rss_bytes()]
    step = max(1, calls // 100)
    started = time.perf_counter()
    for i in range(1, calls + 1):
        bench.call(case)
        if i % 50 == 0:  # the exporter's list is the harness's memory, not ours: keep it short
            bench.drain()
        if i % step == 0:
            bench.drain()
            gc.collect()
            samples.append(rss_bytes())
    elapsed = time.perf_counter() - started
    half = samples[len(samples) // 2]
    return {
        "config": config, "case": case, "calls": calls, "seconds": elapsed,
        "start": samples[0], "half": half, "end": samples[-1], "peak": max(samples),
        "first_half": half - samples[0], "last_half": samples[-1] - half,
        "tenths": [samples[min(len(samples) - 1, i * len(samples) // 10)] for i in range(11)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--configs", default="none,ours-on,ours-sec")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.calls)))
        return

    rows = []
    skipped = {}
    for config in args.configs.split(","):
        why = available(config)
        if why:
            skipped[config] = why
            continue
        for case in args.cases.split(","):
            out = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--calls", str(args.calls), "--child", config, case],
                check=True, capture_output=True, text=True,
            ).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
            r = rows[-1]
            print(f"{config} {case}: last half {r['last_half'] / MB:+.2f} MB ({r['seconds']:.0f} s)", file=sys.stderr)

    print(f"# RSS over {args.calls:,} calls: python benchmarks/memory.py {' '.join(sys.argv[1:])}")
    print("")
    print("| config | case | RSS start (MB) | half (MB) | end (MB) | first half | last half | end - start <= 2 MB |"
          " growth at each 10% of the calls (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        ok = "yes" if r["end"] - r["start"] <= 2 * MB else "NO"
        tenths = " ".join(f"{(t - r['start']) / MB:.1f}" for t in r["tenths"][1:])
        print(f"| {r['config']} | {r['case']} | {r['start'] / MB:.1f} | {r['half'] / MB:.1f} | {r['end'] / MB:.1f} | "
              f"{r['first_half'] / MB:+.2f} | {r['last_half'] / MB:+.2f} | {ok} | {tenths} |")
    for config, why in skipped.items():
        print(f"\n`{config}` skipped: {why}")
    print("\nend - start: RSS growth over the calls, after 200 warm-up calls. A leak keeps growing in the last"
          " half; growth that stops early is warm-up (allocator arenas, caches) and shows in `none` too.")


if __name__ == "__main__":
    main()
