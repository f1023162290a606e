"""Score the scanner on the labelled corpora (pooled, as the corpora README describes).

    python benchmarks/scanner_quality.py [CORPORA_DIR] [--command "cylestio-monitor scan"] [--check]
                                         [--half A|B|both]

* secret, pii: span level (a labelled span is found if a finding of the same category
  overlaps it; a finding overlapping no labelled span of its category is a false positive);
* prompt_injection, dangerous_command: text level.

By default the scanner runs in-process; ``--command`` runs any scanner command that reads
JSON Lines ``{"id","text"}`` on stdin (the CLI contract). ``--check`` exits 1 when a target is
missed (used by CI). ``--errors CATEGORY`` prints false positives / negatives of a category.

Split-half discipline: ``--half A`` scores only the texts whose id hashes (SHA-1) to half A,
the half rules are developed on; ``--half B`` the other half, looked at only to measure;
``--half both`` prints whole, A and B. The hidden holdout split is built like this corpus with
other carrier sentences and upstream items: rules must be general detection ideas, never fitted
to corpus lines, and the A/B gap shows how much they are.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

FILES = ("secrets", "pii", "prompt_injection", "dangerous_commands", "benign")
SPAN = ("secret", "pii")
TEXT = ("prompt_injection", "dangerous_command")
TARGETS = {"secret": 0.95, "pii": 0.90, "dangerous_command": 0.90}
DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"


def load(corpora: Path) -> List[dict]:
    rows = []
    for name in FILES:
        with open(corpora / f"{name}.jsonl", encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh if line.strip())
    return rows


def half_of(text_id: str) -> str:
    """``A`` or ``B``: a fixed split of the corpus by the SHA-1 of the text id."""
    return "A" if hashlib.sha1(text_id.encode()).digest()[0] % 2 == 0 else "B"


def run_inprocess(rows: List[dict]) -> Dict[str, list]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from cylestio_monitor.security import Scanner

    scanner = Scanner()
    return {r["id"]: [f.to_dict() for f in scanner.scan(r["text"])] for r in rows}


def run_command(rows: List[dict], command: str) -> Dict[str, list]:
    payload = "".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in rows)
    proc = subprocess.run(shlex.split(command), input=payload, capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"scanner command failed ({proc.returncode}): {proc.stderr[-2000:]}")
    out = {}
    for line in proc.stdout.splitlines():
        rec = json.loads(line)
        out[rec["id"]] = rec["findings"]
    return out


def prf(tp_p: int, n_pred: int, tp_r: int, n_gold: int) -> tuple:
    p = tp_p / n_pred if n_pred else 1.0
    r = tp_r / n_gold if n_gold else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score(rows: List[dict], found: Dict[str, list], errors: str = "") -> dict:
    res = {}
    for cat in SPAN:
        n_pred = tp_pred = n_gold = tp_gold = 0
        for r in rows:
            gold = [lab for lab in r["labels"] if lab["category"] == cat]
            pred = [f for f in found.get(r["id"], []) if f["category"] == cat]
            n_gold += len(gold)
            n_pred += len(pred)
            for g in gold:
                if any(f["start"] < g["end"] and g["start"] < f["end"] for f in pred):
                    tp_gold += 1
                elif errors == cat:
                    print(f"FN {r['id']} {g['type']}: {r['text'][g['start']:g['end']][:80]!r}")
            for f in pred:
                if any(f["start"] < g["end"] and g["start"] < f["end"] for g in gold):
                    tp_pred += 1
                elif errors == cat:
                    print(f"FP {r['id']} {f['rule_id']}: {r['text'][max(0, f['start'] - 30):f['end'] + 10]!r}")
        res[cat] = (*prf(tp_pred, n_pred, tp_gold, n_gold), n_gold)
    for cat in TEXT:
        tp = fp = fn = 0
        for r in rows:
            gold = any(lab["category"] == cat for lab in r["labels"])
            hits = [f for f in found.get(r["id"], []) if f["category"] == cat]
            pred = bool(hits)
            tp += gold and pred
            fp += pred and not gold
            fn += gold and not pred
            if errors == cat and pred != gold:
                what = f"FP {hits[0]['rule_id']}" if pred else "FN"
                print(f"{what} {r['id']}: {r['text'][:160]!r}")
        res[cat] = (*prf(tp, tp + fp, tp, tp + fn), tp + fn)
    benign = [r for r in rows if not r["labels"]]
    flagged = [r for r in benign if found.get(r["id"])]
    if errors == "benign":
        for r in flagged:
            print(f"BENIGN {r['id']} {[f['rule_id'] for f in found[r['id']]]}: {r['text'][:160]!r}")
    res["benign_flagged"] = (len(flagged), len(benign))
    return res


def report(title: str, rows: List[dict], found: Dict[str, list], errors: str = "", by_type: bool = False) -> bool:
    """Print the quality table of ``rows``; True when every target is met."""
    res = score(rows, found, errors)
    print(f"\n## {title} ({len(rows)} texts)")
    print("| category | precision | recall | F1 | labelled | target |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    ok = True
    for cat in (*SPAN, "dangerous_command", "prompt_injection"):
        p, r, f, n = res[cat]
        if cat == "prompt_injection":
            target = "R >= 0.80 at P >= 0.95"
            met = r >= 0.80 and p >= 0.95
        else:
            target = f"F1 >= {TARGETS[cat]:.2f}"
            met = f >= TARGETS[cat]
        ok &= met
        print(f"| {cat} | {p:.3f} | {r:.3f} | {f:.3f} | {n} | {target} {'ok' if met else 'MISSED'} |")
    nf, nb = res["benign_flagged"]
    met = nf / nb < 0.01
    ok &= met
    print(f"benign texts with any finding: {nf}/{nb} = {nf / nb:.2%} (target < 1%) {'ok' if met else 'MISSED'}")
    f1s = [res[c][2] for c in (*SPAN, *TEXT)]
    print(f"macro-F1: {sum(f1s) / len(f1s):.3f}")
    if by_type:
        print_recall_by_type(rows, found)
    return ok


def print_recall_by_type(rows: List[dict], found: Dict[str, list]) -> None:
    """Recall per labelled ``type`` (informative: scoring is by category)."""
    tally: Dict[tuple, List[int]] = {}
    for r in rows:
        pred = found.get(r["id"], [])
        for g in r["labels"]:
            if g["category"] in SPAN:
                hit = any(
                    f["category"] == g["category"] and f["start"] < g["end"] and g["start"] < f["end"] for f in pred
                )
            else:
                hit = any(f["category"] == g["category"] for f in pred)
            t = tally.setdefault((g["category"], g["type"]), [0, 0])
            t[0] += hit
            t[1] += 1
    print("| category | type | found | labelled |")
    print("| --- | --- | ---: | ---: |")
    for (cat, typ), (hit, n) in sorted(tally.items()):
        if hit < n:
            print(f"| {cat} | {typ} | {hit} | {n} |")


def main(argv: List[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpora", nargs="?", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--command", help="scanner command reading JSON Lines on stdin (default: in-process)")
    ap.add_argument("--check", action="store_true", help="exit 1 if a target is missed (on the whole corpus)")
    ap.add_argument("--errors", default="", help="print errors of a category (or 'benign')")
    ap.add_argument("--half", choices=("A", "B", "both"), help="score half A or B only, or print whole, A and B")
    ap.add_argument("--by-type", action="store_true", help="also print recall per labelled type (types < 100%%)")
    args = ap.parse_args(argv)
    if not (args.corpora / "benign.jsonl").is_file():
        print(f"corpora not found in {args.corpora} (expected secrets.jsonl, ..., benign.jsonl)", file=sys.stderr)
        return 2
    rows = load(args.corpora)
    size_mb = sum(len(r["text"].encode()) for r in rows) / 1e6
    t0 = time.perf_counter()
    found = run_command(rows, args.command) if args.command else run_inprocess(rows)
    elapsed = time.perf_counter() - t0
    print(f"corpora: {args.corpora} ({len(rows)} texts, {size_mb:.2f} MB); wall clock {elapsed:.2f} s")
    if args.half in ("A", "B"):
        part = [r for r in rows if half_of(r["id"]) == args.half]
        ok = report(f"half {args.half}", part, found, args.errors, args.by_type)
    else:
        ok = report("whole corpus", rows, found, args.errors, args.by_type)
        if args.half == "both":
            for h in ("A", "B"):
                report(f"half {h}", [r for r in rows if half_of(r["id"]) == h], found, "", args.by_type)
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
