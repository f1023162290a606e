"""Scanner throughput and per-message latency, against detect-secrets on the same text, in one run.

    python benchmarks/scanner_speed.py [CORPORA_DIR] [--engine auto|hyperscan|re2set|keywords|re2]
                                       [--seconds 3] [--no-detect-secrets] [--no-build]

Two message sets, both packed into 4 KB messages:

* **mixed** - realistic traffic: benign chat and code text (``benign.jsonl`` and the assistant /
  user prose of the recorded cassettes in ``tests/cassettes``) with about 10% of the messages
  carrying one positive (secret, PII, dangerous command or prompt injection) from the corpora;
* **pooled** - every positive of the corpora (secrets, PII, commands, injections) back to back:
  a stress case, dense with findings.

For each set and each scanner: MB/s over all messages (wall clock, and process CPU time, which
other load on the machine inflates less), p50 / p99 wall time per 4 KB message, and the
findings. The same messages go through detect-secrets 1.x (``pip install
cylestio-monitor[bench]``) with its default plugin set, line by line as its ``scan_line`` does;
the harness checks that the plugins are active (an AWS key must be found) before timing it.
Ours is timed twice: with every rule, and with the secret rules only (what detect-secrets,
gitleaks and the like look for). Each pass over a set starts with the scanner's memos of
validator answers emptied (:func:`forget_values`), so no pass is answered from the previous one.

Then the start-up cost: import + ``Scanner()`` + first scan in a fresh process, with an empty
Hyperscan cache (cold) and again with the cache it left (cached), and when Hyperscan serves: with
nothing cached, ``auto`` scans with the RE2-Set engine while Hyperscan compiles in the background.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT.parent / "shared" / "corpora"
CASSETTES = ROOT / "tests" / "cassettes"
POSITIVES = ("secrets", "pii", "prompt_injection", "dangerous_commands")
SIZE = 4096
AWS_LINE = 'aws_access_key_id = "AKIAZ3MSJV4WWNKWW5FG"'


def _load(corpora: Path, name: str) -> List[str]:
    with open(corpora / f"{name}.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


def _walk_texts(obj: Any) -> Iterator[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, str) and k in ("content", "text", "input", "prompt", "arguments", "instructions"):
                yield v
            else:
                yield from _walk_texts(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk_texts(v)


def cassette_texts(root: Path = CASSETTES) -> List[str]:
    """Message contents of the recorded OpenAI traffic (requests and responses, SSE included)."""
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML comes with vcrpy (dev extra)
        return []
    out = set()
    for path in sorted(root.rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for it in doc.get("interactions", []):
            for body in (it.get("request", {}).get("body"), (it.get("response", {}).get("body") or {}).get("string")):
                if isinstance(body, bytes):
                    try:
                        body = gzip.decompress(body).decode("utf-8")
                    except (OSError, UnicodeDecodeError):
                        body = body.decode("utf-8", "ignore")
                if not isinstance(body, str):
                    continue
                chunks = [body]
                if "data: " in body:  # server-sent events
                    chunks = [ln[6:] for ln in body.splitlines() if ln.startswith("data: ")]
                for chunk in chunks:
                    try:
                        out.update(t for t in _walk_texts(json.loads(chunk)) if len(t) > 20)
                    except ValueError:
                        continue
    return sorted(out)


def pack(texts: List[str], size: int = SIZE) -> List[str]:
    out, cur = [], ""
    for t in texts:
        cur = f"{cur}\n{t}" if cur else t
        while len(cur) >= size:
            out.append(cur[:size])
            cur = cur[size:]
    return out


def mixed_messages(corpora: Path, n: int = 400, positive_share: float = 0.1, seed: int = 11) -> List[str]:
    """Benign text in 4 KB messages; about ``positive_share`` of them carry one positive."""
    benign = _load(corpora, "benign") + cassette_texts()
    positives = [t for name in POSITIVES for t in _load(corpora, name)]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts: List[str] = []
        size = 0
        while size < SIZE:
            t = rng.choice(benign)
            parts.append(t)
            size += len(t) + 1
        if rng.random() < positive_share:
            p = rng.choice(positives)
            if len(p) > SIZE // 2:  # long injections: a window of them
                start = rng.randrange(len(p) - SIZE // 2)
                p = p[start : start + SIZE // 2]
            parts.insert(rng.randrange(len(parts)), p)
        out.append("\n".join(parts)[:SIZE])
    return out


def pooled_messages(corpora: Path, seed: int = 7) -> List[str]:
    texts = [t for name in POSITIVES for t in _load(corpora, name)]
    random.Random(seed).shuffle(texts)
    return pack(texts)


def forget_values() -> None:
    """Empty the scanner's bounded memos of validator answers. Called before each pass over a
    message set (outside the timing): repeating the same messages would otherwise answer every
    value from the previous pass, which new traffic cannot do. Within a pass they work as usual."""
    from cylestio_monitor.security import _rules, _validators

    for memo in (getattr(_rules, "_ACCEPTS_MEMO", None), getattr(_validators, "_PLACEHOLDER_MEMO", None)):
        if memo is not None:
            memo.clear()


def measure(
    fn: Callable[[str], Any], msgs: List[str], seconds: float, reset: Optional[Callable[[], None]] = None
) -> Dict[str, float]:
    """At least one full pass over ``msgs``, then more until ``seconds`` have passed; ``reset``
    (not timed) before each pass."""
    for m in msgs[:20]:  # warm-up
        fn(m)
    sizes = [len(m.encode("utf-8", "surrogatepass")) for m in msgs]
    per: List[float] = []
    total_bytes = findings = 0
    clock = time.perf_counter
    n = len(msgs)
    t_end = clock() + seconds
    wall0, cpu0 = clock(), time.process_time()
    i = 0
    paused = 0.0
    while i < n or clock() < t_end:
        k = i % n
        if k == 0 and reset is not None:
            p0 = clock()
            reset()
            paused += clock() - p0
        t0 = clock()
        found = fn(msgs[k])
        per.append(clock() - t0)
        total_bytes += sizes[k]
        if i < n:
            findings += len(found)
        i += 1
    wall, cpu = clock() - wall0 - paused, time.process_time() - cpu0 - paused
    per.sort()
    return {
        "mb_s": total_bytes / wall / 1e6,
        "mb_s_cpu": total_bytes / cpu / 1e6,
        "p50_us": statistics.median(per) * 1e6,
        "p99_us": per[min(len(per) - 1, int(len(per) * 0.99))] * 1e6,
        "n": len(per),
        "findings": findings,
    }


def detect_secrets_fn() -> Callable[[str], List[Any]]:
    """detect-secrets' ``scan_line`` with its default plugins; fails if they are not active."""
    from detect_secrets.core.scan import get_plugins, scan_line
    from detect_secrets.settings import default_settings

    ctx = default_settings()
    ctx.__enter__()  # kept active for the whole run; the reference below keeps it alive
    detect_secrets_fn.settings = ctx  # type: ignore[attr-defined]
    plugins = [type(p).__name__ for p in get_plugins()]
    if "AWSKeyDetector" not in plugins or not list(scan_line(AWS_LINE)):
        raise RuntimeError(f"detect-secrets default plugins are not active (plugins: {plugins})")

    def run(text: str) -> List[Any]:
        return [s for line in text.splitlines() for s in scan_line(line)]

    return run


_STARTUP = (
    "import time; t0 = time.perf_counter(); "
    "from cylestio_monitor.security import Scanner; t1 = time.perf_counter(); "
    "s = Scanner(engine={engine!r}); t2 = time.perf_counter(); "
    "s.scan('my key is sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh3iJk'); t3 = time.perf_counter(); "
    "ready = getattr(s._engine, 'ready', None); ready is not None and ready.wait(600); t4 = time.perf_counter(); "
    "print(t1 - t0, t2 - t1, t3 - t2, t4 - t0 if ready is not None else t3 - t0)"
)


def startup(engine: str, cache_dir: str) -> List[float]:
    """(import, Scanner(), first scan, Hyperscan serving) seconds in a fresh process using
    ``cache_dir``; the last is from the start, and waits for a background compile (which also
    fills the cache) when ``auto`` started one."""
    env = dict(os.environ, CYLESTIO_CACHE_DIR=cache_dir)
    out = subprocess.run(
        [sys.executable, "-c", _STARTUP.format(engine=engine)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [float(x) for x in out.split()]


def row(name: str, r: Dict[str, float]) -> str:
    return (
        f"| {name} | {r['mb_s']:.2f} | {r['mb_s_cpu']:.2f} | {r['p50_us']:.0f} | {r['p99_us']:.0f} "
        f"| {r['findings']} |"
    )


class LegacyPrefilter:
    """The engine before the exact one (for ``--legacy``): Hyperscan in pre-filter + single-match
    mode names candidate rules, each candidate runs its RE2 regex over the whole text, and the
    score cues go through the score post-pass's own RE2 ``Set``. Same rules, same validators."""

    name = "legacy hyperscan pre-filter"

    def __init__(self, scanner: Any) -> None:
        import hyperscan

        from cylestio_monitor.security import _engine

        self._ref = _engine.ReferenceEngine(scanner.rules)
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        exprs = [r.pattern.replace("(?P<", "(?<").encode() for r in scanner.rules]
        flags = hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY
        self._db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
        self._scratch = hyperscan.Scratch(self._db)
        self._accepted_full = _engine._accepted_full

    def scan(self, text: str) -> Any:
        data = text.encode("utf-8", "surrogatepass")
        hits: List[int] = []
        self._db.scan(data, match_event_handler=lambda i, *_: hits.append(i), scratch=self._scratch)
        out: List[Any] = []
        for i in hits:
            self._accepted_full(self._ref.compiled[i], i, text, data, len(data) == len(text), out)
        return out, None  # None: the score post-pass runs its own Set


def breakdown(scanner: Any, msgs: List[str], rounds: int = 5) -> None:
    """Thread CPU time per mixed message of: the Hyperscan pass alone, the engine (Hyperscan pass,
    RE2 confirm, validators) and the whole ``Scanner.scan``; each over all the messages in turn.
    The Hyperscan pass alone runs with warmer caches than inside a scan (nothing else evicts its
    database between messages), so ``engine - Hyperscan pass`` overstates the confirm a little."""
    engine = scanner._engine
    if getattr(engine, "name", "") != "hyperscan" or getattr(engine, "_db", None) is None:
        print("\n--breakdown: needs the Hyperscan engine")
        return
    from cylestio_monitor.security._hs_patterns import fold_utf8

    def hs_pass(m: str) -> None:
        hits: List[Any] = []
        folded = fold_utf8(m.encode("utf-8", "surrogatepass"))
        engine._db.scan(folded, match_event_handler=lambda *a: hits.append(a), scratch=engine._scratch())

    stages = [
        ("Hyperscan pass", hs_pass),
        ("engine (+ RE2 confirm, validators)", engine.scan),
        ("Scanner.scan", scanner.scan),
    ]
    total = [0] * len(stages)
    clock = time.thread_time_ns
    for r in range(rounds):
        for j in range(len(stages)):
            k = (j + r) % len(stages)  # rotate the order of the stages from round to round
            fn = stages[k][1]
            t0 = clock()
            for m in msgs:
                fn(m)
            total[k] += clock() - t0
    print("\nwhere a mixed 4 KB message's time goes (thread CPU time, mean):\n")
    print("| stage | us / message |")
    print("| --- | ---: |")
    for (name, _), t in zip(stages, total):
        print(f"| {name} | {t / rounds / len(msgs) / 1e3:.1f} |")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpora", nargs="?", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--no-detect-secrets", action="store_true")
    ap.add_argument("--no-build", action="store_true", help="skip the fresh-process start-up measurements")
    ap.add_argument("--legacy", action="store_true", help="also time the previous engine design on the same rules")
    ap.add_argument(
        "--breakdown", action="store_true", help="where a mixed message's time goes (Hyperscan engine only)"
    )
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from cylestio_monitor.security import Scanner

    t0 = time.perf_counter()
    scanner = Scanner(engine=args.engine)
    build = time.perf_counter() - t0
    secrets_only = Scanner(engine=args.engine, categories=["secret"])
    for built in (scanner, secrets_only):
        ready = getattr(getattr(built, "_engine", None), "ready", None)
        if ready is not None:  # nothing cached yet: time the Hyperscan engine being built, not RE2-Set
            ready.wait(600)
    sets = {"mixed": mixed_messages(args.corpora), "pooled": pooled_messages(args.corpora)}
    sizes = ", ".join(f"{k}: {len(v)} x 4 KB ({sum(len(m.encode()) for m in v) / 1e6:.2f} MB)" for k, v in sets.items())
    print(f"{len(scanner.rules)} rules, engine {scanner.engine} (built in {build:.2f} s in this process); {sizes}")
    legacy: Any = None
    if args.legacy:
        import copy

        legacy = copy.copy(scanner)
        legacy._engine = LegacyPrefilter(scanner)
        from cylestio_monitor.security._scoring import split_score_rules

        _, legacy._scoring = split_score_rules(scanner._scoring.rules)  # its own Set, not the engine's cues
    ds: Optional[Callable[[str], List[Any]]] = None
    if not args.no_detect_secrets:
        try:
            ds = detect_secrets_fn()
        except ImportError:
            print("detect-secrets not installed (pip install detect-secrets): not measured")
    for name, msgs in sets.items():
        print(f"\n{name}:\n")
        print("| scanner | MB/s (wall) | MB/s (CPU) | p50 us / 4 KB | p99 us / 4 KB | findings (one pass) |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        ours = measure(lambda m: scanner.scan(m).findings, msgs, args.seconds, forget_values)
        print(row(f"cylestio ({scanner.engine}, all rules)", ours))
        only = measure(lambda m: secrets_only.scan(m).findings, msgs, args.seconds, forget_values)
        print(row(f"cylestio ({secrets_only.engine}, secret rules only: detect-secrets' ground)", only))
        if legacy is not None:
            assert all(legacy.scan(m) == scanner.scan(m) for m in msgs[:50]), "legacy engine disagrees"
            old = measure(lambda m: legacy.scan(m).findings, msgs, args.seconds, forget_values)
            print(row(f"cylestio ({legacy._engine.name}, all rules)", old))
        if ds is not None:
            print(row("detect-secrets 1.x (default plugins)", measure(ds, msgs, args.seconds)))
    if ds is not None:
        detect_secrets_fn.settings.__exit__(None, None, None)  # type: ignore[attr-defined]
    if args.breakdown:
        breakdown(scanner, sets["mixed"])
    if not args.no_build:
        with tempfile.TemporaryDirectory() as tmp:
            cold = startup(args.engine, tmp)
            cached = startup(args.engine, tmp)
        print("\nstart-up in a fresh process (seconds):\n")
        print("| Hyperscan cache | import | Scanner() | first scan | total | Hyperscan serving after |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for label, r in (("cold (empty)", cold), ("cached", cached)):
            print(f"| {label} | {r[0]:.3f} | {r[1]:.3f} | {r[2]:.4f} | {sum(r[:3]):.3f} | {r[3]:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
