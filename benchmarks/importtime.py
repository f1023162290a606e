"""Import cost of cylestio-monitor beyond ``openai`` + ``opentelemetry-sdk``.

Each run is a fresh ``python -X importtime`` process that first imports the baseline
(``openai`` and ``opentelemetry.sdk.trace``), writes a marker, then does what a user does::

    import cylestio_monitor; cylestio_monitor.OpenAIInstrumentor

Everything imported after the marker is cost we add (modules the baseline already loaded
are cached and cost nothing). Bytecode caches are written and used (one warm-up run), as in
an installed environment. Reported: the median over runs of that added cumulative time,
the bare ``import cylestio_monitor`` (lazy public API), and the modules with the largest
self time after the marker.

    .venv/bin/python benchmarks/importtime.py            # 15 runs
    .venv/bin/python benchmarks/importtime.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from typing import Dict, List, Tuple

MARK = "--cylestio-bench-mark--"
BASELINE = "import openai, opentelemetry.sdk.trace"
STEPS = {
    "import cylestio_monitor": "import cylestio_monitor",
    "+ cylestio_monitor.OpenAIInstrumentor": "import cylestio_monitor; cylestio_monitor.OpenAIInstrumentor",
}
_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def one_run(code: str) -> Tuple[float, Dict[str, int]]:
    """Added cumulative microseconds after the marker, and self time per module."""
    script = f"{BASELINE}\nimport sys; sys.stderr.write('{MARK}\\n'); sys.stderr.flush()\n{code}\n"
    # bytecode is written and used, as in any installed environment (a PYTHONDONTWRITEBYTECODE
    # shell would otherwise charge compiling our sources to every import)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE")}
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", script], capture_output=True, text=True, check=True, env=env
    ).stderr
    after = err.split(MARK, 1)[1]
    total = 0
    selfs: Dict[str, int] = {}
    for line in after.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        self_us, cumulative, indent, name = int(m[1]), int(m[2]), m[3], m[4]
        selfs[name] = selfs.get(name, 0) + self_us
        if len(indent) <= 1:  # top level: its cumulative time includes everything below it
            total += cumulative
    return total / 1000.0, selfs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()

    results: Dict[str, List[float]] = {name: [] for name in STEPS}
    selfs: Dict[str, List[int]] = {}
    for code in STEPS.values():  # warm-up: writes the bytecode caches
        one_run(code)
    for _ in range(args.runs):  # interleaved
        for name, code in STEPS.items():
            ms, per_module = one_run(code)
            results[name].append(ms)
            if name.startswith("+"):
                for module, us in per_module.items():
                    selfs.setdefault(module, []).append(us)

    print(f"# Import cost beyond `{BASELINE}`: python benchmarks/importtime.py {' '.join(sys.argv[1:])}")
    print("")
    print(f"Python {sys.version.split()[0]}, {args.runs} runs each, interleaved; median (min, max) ms.")
    print("")
    print("| what | added ms (median) | min | max | budget <= 100 ms |")
    print("|---|---:|---:|---:|---|")
    for name, values in results.items():
        med = statistics.median(values)
        print(f"| `{name}` | {med:.1f} | {min(values):.1f} | {max(values):.1f} | {'yes' if med <= 100 else 'NO'} |")
    print("")
    print(f"Largest self times after the baseline (median us), top {args.top}:")
    print("")
    print("| module | self us |")
    print("|---|---:|")
    ranked = sorted(((statistics.median(v), m) for m, v in selfs.items()), reverse=True)[: args.top]
    for us, module in ranked:
        print(f"| `{module}` | {us:,.0f} |")


if __name__ == "__main__":
    main()
