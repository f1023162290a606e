"""Our hot path, in one process: a precise A/B and a profile.

A/B: with our instrumentation installed, the same call is timed with instrumentation
suppressed (``suppress_instrumentation``: our hook's first check, a pass-through) and not,
in interleaved batches, on process CPU time. Same process, same warm caches: the difference
is what our code adds (the hook, the invocation, the span, the metrics), with less noise than
the cross-process comparison of ``overhead.py`` (which remains the reference for peers).

Profile: ``--profile CASE`` runs CASE under pyinstrument (or cProfile with ``--cprofile``)
and prints where the time goes.

    .venv-bench/bin/python benchmarks/profile_hotpath.py --config ours-on
    .venv-bench/bin/python benchmarks/profile_hotpath.py --config ours-on --profile stream200
    .venv-bench/bin/python benchmarks/profile_hotpath.py --processor-ab --cases chat,chat_clean --rounds 25
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import Bench


def ab(bench: Bench, cases: List[str], rounds: int, scale: float) -> Dict[str, float]:
    from _common import CASES
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    diffs: Dict[str, List[float]] = {c: [] for c in cases}
    base: Dict[str, List[float]] = {c: [] for c in cases}
    for _ in range(rounds):
        for case in cases:
            n = max(2, int(CASES[case][2] * scale))
            gc.collect()
            with suppress_instrumentation():
                off = bench.batch(case, n)
            gc.collect()
            on = bench.batch(case, n)
            bench.drain()
            diffs[case].append(on - off)
            base[case].append(off)
    out = {}
    print("| case | suppressed (us/call) | added (us/call, median) |")
    print("|---|---:|---:|")
    for case in cases:
        out[case] = statistics.median(diffs[case])
        print(f"| {case} | {statistics.median(base[case]) * 1e6:,.0f} | {out[case] * 1e6:,.1f} |")
    for suffix in ("", "_async"):
        long_, short = out.get(f"stream200{suffix}"), out.get(f"stream20{suffix}")
        if long_ is not None and short is not None:
            print(f"\nper chunk{suffix or ' (sync)'}: {(long_ - short) / 180 * 1e6:.2f} us  "
                  "(stream200 - stream20) / 180")
    return out


def processor_ab(bench: Bench, cases: List[str], rounds: int, scale: float) -> None:
    """ours-sec only: what the security processor costs *in situ* (between real SDK calls, where
    its code and the scanner's tables are no longer in the CPU caches; a tight loop such as
    profile_processor.py measures them warm). Interleaved batches with the processor
    ``full``, ``bypass`` (spans go straight to the export processor) and ``scan`` (only the
    scanner's pass over the call's last input text, uncached: what the scan cache cannot save)."""
    from _common import CASES

    proc = bench.tracer_provider._active_span_processor._span_processors[0]  # type: ignore[attr-defined]
    nxt = proc._next[0]
    scanner = proc._cache.scanner
    full = (proc.on_end, proc._on_ending)

    def scan_only(span: Any) -> None:
        content = proc._pending.pop((span.context.trace_id, span.context.span_id), None)
        if content is not None and content.input_messages:
            for part in content.input_messages[-1].get("parts") or ():
                if isinstance(part, dict) and isinstance(part.get("content"), str):
                    scanner.scan(part["content"])
        nxt.on_end(span)

    modes = {"bypass": (nxt.on_end, lambda span: None), "scan": (scan_only, full[1]), "full": full}
    res: Dict[str, Dict[str, List[float]]] = {c: {m: [] for m in modes} for c in cases}
    try:
        for r in range(rounds):
            for case in cases:
                n = max(2, int(CASES[case][2] * scale))
                for m in list(modes)[:: 1 if r % 2 else -1]:
                    proc.on_end, proc._on_ending = modes[m]
                    gc.collect()
                    res[case][m].append(bench.batch(case, n))
                    bench.drain()
    finally:
        proc.on_end, proc._on_ending = full
    print("| case | processor, full (us/call) | of which the uncached scan | the rest |")
    print("|---|---:|---:|---:|")
    for case in cases:
        r_ = res[case]
        d_full = statistics.median([f - b for f, b in zip(r_["full"], r_["bypass"])]) * 1e6
        d_scan = statistics.median([s - b for s, b in zip(r_["scan"], r_["bypass"])]) * 1e6
        print(f"| {case} | {d_full:,.1f} | {d_scan:,.1f} | {d_full - d_scan:,.1f} |")


def profile(bench: Bench, case: str, calls: int, use_cprofile: bool) -> None:
    for _ in range(20):
        bench.call(case)
    bench.drain()
    if use_cprofile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        for _ in range(calls):
            bench.call(case)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(r"cylestio_monitor|opentelemetry|wrapt", 40)
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0001)
    profiler.start()
    for i in range(calls):
        bench.call(case)
        if i % 500 == 0:
            bench.drain()
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="ours-on", choices=("ours-off", "ours-on", "ours-sec"))
    parser.add_argument("--cases", default="chat,stream200,stream20,chat_async,stream200_async,stream20_async")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--profile", default=None, metavar="CASE")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--processor-ab", action="store_true",
                        help="ours-sec: the security processor's cost in situ (full / bypassed / scan only)")
    args = parser.parse_args()
    if args.processor_ab:
        args.config = "ours-sec"
    bench = Bench(args.config, "simple")
    if args.profile:
        profile(bench, args.profile, args.calls, args.cprofile)
        return
    for case in args.cases.split(","):
        for _ in range(3):
            bench.call(case)
    bench.drain()
    started = time.perf_counter()
    print(f"# A/B in one process, config {args.config}: python benchmarks/profile_hotpath.py "
          + " ".join(sys.argv[1:]))
    print("")
    if args.processor_ab:
        processor_ab(bench, args.cases.split(","), args.rounds, args.scale)
    else:
        ab(bench, args.cases.split(","), args.rounds, args.scale)
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
