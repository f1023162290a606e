"""The labelled corpora beside the checkout (``../shared/corpora``), read once for the tests that
check the scanner's fast paths against their plain definitions on real text."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Tuple

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"


@functools.lru_cache(maxsize=1)
def corpus_texts() -> Tuple[str, ...]:
    """Every text of every ``*.jsonl`` corpus file, in file order; empty without the corpora."""
    if not CORPORA.is_dir():
        return ()
    texts = []
    for path in sorted(CORPORA.glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            texts.extend(json.loads(line)["text"] for line in fh if line.strip())
    return tuple(texts)
