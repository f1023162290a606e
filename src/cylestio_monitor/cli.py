"""The ``cylestio-monitor`` command.

    cylestio-monitor scan [FILE ...] [--rules FILE] [--category CAT] [--keyword WORD]

``scan`` reads JSON Lines ``{"id": ..., "text": ...}`` on stdin (or from ``*.jsonl`` files) and
plain text files (id = file name), and writes one JSON line per input:
``{"id": ..., "findings": [{"category", "type", "rule_id", "severity", "start", "end", "masked"}]}``
(plus ``"truncated": true`` when the text exceeded the size cap). Exit status: 1 if any finding,
0 if none, 2 on usage or input errors. Subcommands live in ``COMMANDS``; add more there.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

__all__ = ["COMMANDS", "main"]


def _inputs(files: List[str]) -> Iterator[Tuple[object, str]]:
    if not files:
        yield from _jsonl(sys.stdin, "<stdin>")
        return
    for name in files:
        if name == "-":
            yield from _jsonl(sys.stdin, "<stdin>")
            continue
        path = Path(name)
        if path.suffix in (".jsonl", ".ndjson"):
            with open(path, encoding="utf-8") as fh:
                yield from _jsonl(fh, name)
        else:
            yield path.name, path.read_text(encoding="utf-8", errors="replace")


def _jsonl(stream, source: str) -> Iterator[Tuple[object, str]]:
    for n, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            text = rec["text"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{source}:{n}: expected a JSON object with \"text\"") from None
        if not isinstance(text, str):
            raise ValueError(f"{source}:{n}: \"text\" must be a string")
        yield rec.get("id", n), text


def _scan(args: argparse.Namespace) -> int:
    from .security import Scanner, custom_rules, load_rules
    from .security._rules import builtin_rules

    rules = builtin_rules()
    for f in args.rules or ():
        rules.extend(load_rules(f))
    scanner = Scanner(
        rules,
        extra_rules=custom_rules(args.keyword or ()),
        categories=args.category or None,
        max_chars=args.max_chars,
    )
    any_finding = False
    out = sys.stdout
    for ident, text in _inputs(args.files):
        res = scanner.scan(text)
        rec: Dict[str, object] = {"id": ident, "findings": [f.to_dict() for f in res]}
        if res.truncated:
            rec["truncated"] = True
        any_finding |= bool(res.findings)
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    out.flush()
    return 1 if any_finding else 0


def _add_scan(sub: argparse._SubParsersAction) -> None:
    from .security._rules import CATEGORIES
    from .security.scanner import DEFAULT_MAX_CHARS

    p = sub.add_parser("scan", help="scan texts for secrets, PII, dangerous commands and prompt injection")
    p.add_argument("files", nargs="*", help="JSON Lines (*.jsonl) or plain text files; default: JSON Lines on stdin")
    p.add_argument("--rules", action="append", help="extra rules file (TOML or JSON); repeatable")
    p.add_argument("--category", action="append", choices=CATEGORIES, help="only these categories; repeatable")
    p.add_argument("--keyword", action="append", help="a custom keyword rule (category 'custom'); repeatable")
    p.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS, help="scan at most this many characters")
    p.set_defaults(func=_scan)


COMMANDS: List[Callable[[argparse._SubParsersAction], None]] = [_add_scan]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="cylestio-monitor", description="Cylestio Monitor command line")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (OSError, ValueError) as exc:
        print(f"cylestio-monitor {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
