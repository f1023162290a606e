"""Scanner throughput and per-message latency, against detect-secrets on the same text.

    python benchmarks/scanner_speed.py [CORPORA_DIR] [--engine auto|hyperscan|re2set|keywords]
                                       [--no-detect-secrets] [--seconds 3]

Mixed text = every text of the corpora (benign, secrets, PII, commands, injections; pooled
and shuffled with a fixed seed), packed into ~4 KB messages. Reports MB/s over all messages
(all rules on) and p50/p99 time per 4 KB message; then the same for detect-secrets
(``detect-secrets`` from PyPI, ``pip install cylestio-monitor[bench]``) with its default
plugins, scanning the same messages line by line as its ``scan_line`` API does.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, List

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"
FILES = ("secrets", "pii", "prompt_injection", "dangerous_commands", "benign")


def messages(corpora: Path, size: int = 4096) -> List[str]:
    texts = []
    for name in FILES:
        with open(corpora / f"{name}.jsonl", encoding="utf-8") as fh:
            texts.extend(json.loads(line)["text"] for line in fh if line.strip())
    random.Random(7).shuffle(texts)
    out, cur = [], ""
    for t in texts:
        cur = f"{cur}\n{t}" if cur else t
        while len(cur) >= size:
            out.append(cur[:size])
            cur = cur[size:]
    return out


def measure(fn: Callable[[str], object], msgs: List[str], seconds: float) -> dict:
    for m in msgs[:20]:  # warm-up
        fn(m)
    per: List[float] = []
    total_bytes = 0
    t_end = time.perf_counter() + seconds
    start = time.perf_counter()
    while True:
        for m in msgs:
            t0 = time.perf_counter()
            fn(m)
            per.append(time.perf_counter() - t0)
            total_bytes += len(m.encode())
        if time.perf_counter() >= t_end:
            break
    wall = time.perf_counter() - start
    per.sort()
    return {
        "mb_s": total_bytes / wall / 1e6,
        "p50_us": statistics.median(per) * 1e6,
        "p99_us": per[int(len(per) * 0.99)] * 1e6,
        "n": len(per),
    }


def detect_secrets_fn() -> Callable[[str], object]:
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import default_settings

    ctx = default_settings()
    ctx.__enter__()  # keep the default plugin set active for the whole run

    def run(text: str) -> object:
        return [s for line in text.splitlines() for s in scan_line(line)]

    return run


def main(argv: List[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpora", nargs="?", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--no-detect-secrets", action="store_true")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from cylestio_monitor.security import Scanner

    msgs = messages(args.corpora)
    t0 = time.perf_counter()
    scanner = Scanner(engine=args.engine)
    build = time.perf_counter() - t0
    print(f"{len(msgs)} messages of 4 KB ({sum(len(m.encode()) for m in msgs) / 1e6:.2f} MB), "
          f"{len(scanner.rules)} rules, engine {scanner.engine} (built in {build:.2f} s)")
    print("| scanner | MB/s | p50 us / 4 KB | p99 us / 4 KB |")
    print("| --- | ---: | ---: | ---: |")
    r = measure(scanner.scan, msgs, args.seconds)
    print(f"| cylestio ({scanner.engine}) | {r['mb_s']:.1f} | {r['p50_us']:.0f} | {r['p99_us']:.0f} |")
    if not args.no_detect_secrets:
        try:
            fn = detect_secrets_fn()
        except ImportError:
            print("| detect-secrets | not installed (pip install detect-secrets) | | |")
        else:
            r = measure(fn, msgs, args.seconds)
            print(f"| detect-secrets 1.x (default plugins) | {r['mb_s']:.2f} | {r['p50_us']:.0f} | {r['p99_us']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
