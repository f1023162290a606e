"""Per-call overhead of cylestio-monitor against the peers, side by side, in one run.

Every configuration (uninstrumented, the bare-span floor, ours, each peer) lives in its own
worker process, with the same tracer setup: an SDK ``TracerProvider`` with an
``InMemorySpanExporter`` behind a ``SimpleSpanProcessor`` (and, in a second set of workers,
behind a ``BatchSpanProcessor``), an SDK ``MeterProvider``. The real ``openai`` client talks
to a mock transport that returns recorded OpenAI responses (tests/cassettes/). The parent
runs the workers one at a time in interleaved rounds (A B C ... A B C ..., order rotated
each round), so slow drifts of a shared machine hit every configuration alike.

Reported: the median seconds per call of the uninstrumented client, and for every other
configuration its overhead = median over rounds of (its time - uninstrumented time in the
same round); per-chunk stream cost from the 200- and 20-chunk streams; ratios of ours to
each peer and to the floor; the budgets of issue 6.

    .venv-bench/bin/python benchmarks/overhead.py            # full run (~10 min)
    .venv-bench/bin/python benchmarks/overhead.py --quick    # ~1 min, for a smoke check
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import CASES, CONFIGS, available

PROCESSORS = ("simple", "batch")
STREAM_LONG, STREAM_SHORT = 200, 20
OURS = ("ours-lean", "ours-off", "ours-on", "ours-sec")
PEERS = ("official", "openllmetry", "openinference")


# -- worker -----------------------------------------------------------------------------------


def worker(config: str, processor: str) -> None:
    from _common import Bench

    bench = Bench(config, processor)
    for case in CASES:  # warm up: imports, pydantic model caches, code paths
        for _ in range(3):
            bench.call(case)
    bench.drain()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("quit"):
            break
        result: Dict[str, Any] = {}
        for case in request["cases"]:
            n = max(2, int(CASES[case][2] * request["scale"]))
            gc.collect()
            per_call = bench.batch(case, n, time.perf_counter if request.get("clock") == "wall" else time.process_time)
            spans = bench.drain()
            result[case] = {"s": per_call, "spans": spans / n}
        print(json.dumps(result), flush=True)
    bench.close()


# -- parent -----------------------------------------------------------------------------------


class Worker:
    def __init__(self, config: str, processor: str) -> None:
        self.key = (config, processor)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", config, "--processor", processor],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )

    def ready(self) -> None:
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError(f"worker {self.key} died at start-up")
        json.loads(line)

    def run(self, cases: List[str], scale: float, clock: str) -> Dict[str, Any]:
        self.proc.stdin.write(json.dumps({"cases": cases, "scale": scale, "clock": clock}) + "\n")  # type: ignore[union-attr]
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError(f"worker {self.key} died")
        return json.loads(line)  # type: ignore[no-any-return]

    def close(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"quit": True}) + "\n")  # type: ignore[union-attr]
            self.proc.stdin.close()  # type: ignore[union-attr]
        except Exception:
            pass
        self.proc.wait(timeout=30)


def us(seconds: Optional[float]) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e6:,.0f}"


def ratio(a: Optional[float], b: Optional[float]) -> str:
    if a is None or b is None or b <= 0:
        return "n/a"
    return f"{a / b:.2f}"


class Results:
    def __init__(self) -> None:
        # (config, processor, case) -> list of (round, seconds per call); spans per call
        self.times: Dict[tuple, Dict[int, float]] = {}
        self.spans: Dict[tuple, float] = {}

    def add(self, rnd: int, config: str, processor: str, result: Dict[str, Any]) -> None:
        for case, value in result.items():
            self.times.setdefault((config, processor, case), {})[rnd] = value["s"]
            self.spans[(config, processor, case)] = value["spans"]

    def median(self, config: str, processor: str, case: str) -> Optional[float]:
        values = self.times.get((config, processor, case))
        return statistics.median(values.values()) if values else None

    def overhead(self, config: str, processor: str, case: str) -> Optional[float]:
        """Median over rounds of (config - uninstrumented), paired by round."""
        mine = self.times.get((config, processor, case))
        base = self.times.get(("none", processor, case))
        if not mine or not base:
            return None
        diffs = [mine[r] - base[r] for r in mine if r in base]
        return statistics.median(diffs) if diffs else None

    def traced(self, config: str, processor: str, case: str) -> bool:
        return config in ("none", "floor", "floor-metrics") or self.spans.get((config, processor, case), 0) >= 0.99

    def per_chunk(self, config: str, processor: str, suffix: str) -> Optional[float]:
        """(overhead of the 200-chunk stream - overhead of the 20-chunk stream) / 180."""
        long_ = self.overhead(config, processor, f"stream{STREAM_LONG}{suffix}")
        short = self.overhead(config, processor, f"stream{STREAM_SHORT}{suffix}")
        if long_ is None or short is None:
            return None
        return (long_ - short) / (STREAM_LONG - STREAM_SHORT)

    def per_chunk_vs_chat(self, config: str, processor: str, suffix: str) -> Optional[float]:
        """(overhead of the 200-chunk stream - overhead of the non-streamed call) / 200."""
        long_ = self.overhead(config, processor, f"stream{STREAM_LONG}{suffix}")
        chat = self.overhead(config, processor, f"chat{suffix}")
        if long_ is None or chat is None:
            return None
        return (long_ - chat) / STREAM_LONG


def report(res: Results, configs: List[str], processors: List[str], cases: List[str], meta: Dict[str, Any]) -> str:
    out: List[str] = []
    w = out.append
    w(f"# Overhead per call: {meta['command']}")
    w("")
    w(f"openai {meta['openai']}, opentelemetry-sdk {meta['sdk']}, Python {meta['python']}, "
      f"{meta['rounds']} interleaved rounds, scale {meta['scale']}, clock {meta['clock']}, {meta['elapsed']:.0f} s, "
      f"load average at start {meta['load']}")
    w("")
    w("Configurations:")
    for c in configs:
        w(f"- `{c}`: {CONFIGS[c]}")
    for c, why in meta["skipped"].items():
        w(f"- `{c}`: SKIPPED: {why}")
    w("")
    w("Times are process CPU time (all threads) unless `--clock wall`: the machine is shared, and the "
      "work an instrumentation adds is CPU work (in-memory transport and exporter, nothing waits).")
    w("")
    w("Cells: `none` = median us per call uninstrumented; others = median added us per call "
      "(paired with `none` in the same round). `(no span)` = that configuration made no span "
      "for that call (not instrumented), so its number is not comparable.")
    others = [c for c in configs if c != "none"]
    for proc in processors:
        w("")
        w(f"## {proc.capitalize()}SpanProcessor")
        w("")
        w("| case | none (us) | " + " | ".join(others) + " |")
        w("|---|---:|" + "---:|" * len(others))
        for case in cases:
            cells = [us(res.median("none", proc, case))]
            for c in others:
                cell = us(res.overhead(c, proc, case))
                if not res.traced(c, proc, case):
                    cell += " (no span)"
                cells.append(cell)
            w(f"| {case} | " + " | ".join(cells) + " |")
        streams = [s for s in ("", "_async") if f"stream{STREAM_LONG}{s}" in cases]
        if streams:
            w("")
            w("Per stream chunk, added us: fit = (stream200 - stream20) / 180; "
              "brief = (stream200 - non-streamed chat) / 200.")
            w("")
            w("| per chunk | " + " | ".join(others) + " |")
            w("|---|" + "---:|" * len(others))
            for s in streams:
                for name, fn in (("fit", res.per_chunk), ("brief", res.per_chunk_vs_chat)):
                    cells = []
                    for c in others:
                        v = fn(c, proc, s)
                        cells.append("n/a" if v is None else f"{v * 1e6:.2f}")
                    w(f"| {name}{s or '_sync'} | " + " | ".join(cells) + " |")
        mine = [c for c in OURS if c in configs]
        refs = [c for c in ("floor", "floor-metrics", *PEERS) if c in configs]
        if mine and refs:
            w("")
            w("Ratio of our overhead to the reference's overhead (lower is better; < 1 = we add less):")
            w("")
            w("| case | " + " | ".join(f"{m} / {r}" for m in mine for r in refs) + " |")
            w("|---|" + "---:|" * (len(mine) * len(refs)))
            for case in cases:
                cells = []
                for m in mine:
                    for r in refs:
                        ok = res.traced(r, proc, case) and res.traced(m, proc, case)
                        cells.append(ratio(res.overhead(m, proc, case), res.overhead(r, proc, case)) if ok else "n/a")
                w(f"| {case} | " + " | ".join(cells) + " |")
    w("")
    w("## Budgets (issue 6)")
    w("")
    w(budgets(res, configs, processors))
    return "\n".join(out)


def budgets(res: Results, configs: List[str], processors: List[str]) -> str:
    lines = ["| budget | processor | value | limit | met |", "|---|---|---:|---:|---|"]
    ours = "ours-sec" if "ours-sec" in configs else "ours-on" if "ours-on" in configs else None
    for proc in processors:
        for case in ("chat", "chat_async", "chat_clean"):
            o = res.overhead(ours, proc, case) if ours else None
            off = res.overhead("official", proc, case) if "official" in configs else None
            fl = res.overhead("floor", proc, case) if "floor" in configs else None
            flm = res.overhead("floor-metrics", proc, case) if "floor-metrics" in configs else None
            if o is not None and off:
                lines.append(f"| {case}: {ours} / official | {proc} | {o / off:.2f} | 0.40 | "
                             f"{'yes' if o / off <= 0.40 else 'NO'} |")
            if o is not None and fl:
                lines.append(f"| {case}: {ours} / floor | {proc} | {o / fl:.2f} | 2.00 | "
                             f"{'yes' if o / fl <= 2.0 else 'NO'} |")
            if flm is not None and fl:  # not a budget: what the semconv metrics alone cost
                lines.append(f"| {case}: floor-metrics / floor (for reference) | {proc} | {flm / fl:.2f} | - | - |")
        for s in ("", "_async"):
            for c in ("ours-off", ours):
                if c and c in configs:
                    v = res.per_chunk(c, proc, s)
                    if v is not None:
                        lines.append(f"| per chunk{s or ' sync'} ({c}, fit) | {proc} | {v * 1e6:.2f} us | 3 us | "
                                     f"{'yes' if v * 1e6 <= 3 else 'NO'} |")
    if ours == "ours-on":
        lines.append("")
        lines.append("(`ours-sec` could not run: the budgets above use `ours-on`, content on without scanning.)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short run: 4 rounds at scale 0.25, simple processor")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--scale", type=float, default=None, help="multiplier on the calls per batch")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--processors", default=None, help="simple,batch")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu: process CPU time (default, steady on a shared machine); wall: perf_counter")
    parser.add_argument("--json", default=None, help="also write the raw per-round numbers here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--processor", default="simple", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.processor)
        return

    rounds = args.rounds or (4 if args.quick else 20)
    scale = args.scale or (0.25 if args.quick else 1.0)
    processors = (args.processors or ("simple" if args.quick else "simple,batch")).split(",")
    cases = [c for c in args.cases.split(",") if c]
    wanted = [c for c in args.configs.split(",") if c]
    if "none" not in wanted:
        wanted.insert(0, "none")
    skipped = {c: why for c in wanted if (why := available(c))}
    configs = [c for c in wanted if c not in skipped]

    import openai
    from opentelemetry.sdk.version import __version__ as sdk_version

    started = time.perf_counter()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    workers = [Worker(c, p) for p in processors for c in configs]
    try:
        for wk in workers:
            wk.ready()
        res = Results()
        for rnd in range(rounds):
            shift = rnd % len(workers)
            for wk in workers[shift:] + workers[:shift]:
                res.add(rnd, wk.key[0], wk.key[1], wk.run(cases, scale, args.clock))
            print(f"round {rnd + 1}/{rounds} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    finally:
        for wk in workers:
            wk.close()
    meta = {
        "command": "python benchmarks/overhead.py " + " ".join(sys.argv[1:]),
        "openai": openai.__version__, "sdk": sdk_version, "python": sys.version.split()[0],
        "rounds": rounds, "scale": scale, "clock": args.clock, "elapsed": time.perf_counter() - started, "load": load,
        "skipped": skipped,
    }
    print(report(res, configs, processors, cases, meta))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"meta": meta, "times": {"|".join(k): v for k, v in res.times.items()},
                       "spans": {"|".join(k): v for k, v in res.spans.items()}}, handle, indent=1)


if __name__ == "__main__":
    main()
