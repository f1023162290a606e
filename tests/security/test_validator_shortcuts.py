"""The validators' shortcuts answer what their plain definitions answer.

``is_placeholder`` skips the sequence share of long random values by a bound, ``token`` runs its
tests in another order (two of them only when the character they need is there), ``_wordy``
rejects values without any stand-in spelling at once, ``sequence_share`` computes the steps
of ASCII values all at once: each is held here to the plain form it replaces, on generated
strings over the characters that matter and on the words of the corpora.
"""

from __future__ import annotations

import random
from typing import List

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cylestio_monitor.security import _validators as V

from .corpora import corpus_texts


def _placeholder_plain(value: str) -> bool:
    if V._ANY_PLACEHOLDER_SHAPE.search(value) is not None:
        return True
    if len(value) >= 6 and len(set(value)) <= 2:
        return True
    return len(value) >= 6 and V.sequence_share(value) >= V.SEQUENCE_SHARE


def _token_plain(value: str) -> bool:
    v = value.strip("'\"")
    return (
        any(map(str.isdigit, v))
        and any(map(str.isalpha, v))
        and not V._SNAKE_OR_DOTTED.fullmatch(v)
        and not V._PATH.search(v)
        and not V._PUBLIC_ID.fullmatch(v)
        and not _wordy_plain(v)
        and "," not in v
        and "://" not in v
        and not (V._ATTRIBUTE.fullmatch(v) and sum(c.isdigit() for c in v) <= 4)
        and not V._IDENTIFIER.fullmatch(v)
        and not _placeholder_plain(v)
        and V.shannon_entropy(v) >= (3.0 if len(v) < 20 else 3.3)
    )


def _wordy_plain(value: str) -> bool:
    parts = V._WORD_PART.findall(value)
    letters = sum(len(p) for p in parts)
    hits = [p for p in parts if len(p) >= 2 and p.lower() in V._STAND_IN_WORDS]
    return len(hits) >= 2 and letters > 0 and sum(len(p) for p in hits) >= 0.6 * letters


def _steps_plain(value: str) -> bytes:
    return "".join("0+-"[s] if s != 2 else "x" for s in map(V._step, value, value[1:])).encode("ascii")


def _check(value: str) -> None:
    assert V.is_placeholder(value) == _placeholder_plain(value), value
    assert V.token(value) == _token_plain(value), value
    assert V._wordy(value) == _wordy_plain(value), value
    if value.isascii():
        assert V._ascii_steps(value.encode("ascii")) == _steps_plain(value), value


TOKENISH = "aAbBzZxyXY0129_-./,:=+'\"\x00\n <>${}*TestKeyMyTokenHereABCabc123987"


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.text(alphabet=TOKENISH, max_size=60) | st.text(max_size=40))
def test_shortcuts_generated(value: str) -> None:
    _check(value)


def test_sequence_bound_long_values() -> None:
    """Long values (where the bound applies) near the 0.6 share, either side of it."""
    rnd = random.Random(11)
    chunks = ["abc", "123", "zzz", "987", "XYZ", "q", "7", "-", "Kp", "abcdef", "0123456789", "Zq9Xw8"]
    for _ in range(400):
        value = "".join(rnd.choice(chunks) for _ in range(rnd.randint(60, 200)))
        assert V.is_placeholder(value) == _placeholder_plain(value), value
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
    random_key = "".join(rnd.choice(alphabet) for _ in range(2000))
    assert V.is_placeholder(random_key) is _placeholder_plain(random_key) is False
    assert V.is_placeholder("0123456789" * 40) is _placeholder_plain("0123456789" * 40) is True


def _corpus_values() -> List[str]:
    out: List[str] = []
    for text in corpus_texts():
        for word in text.split():
            out.append(word)
            out.extend(word.split("=", 1)[1:])
    return out


def test_shortcuts_corpus_values() -> None:
    for value in _corpus_values():
        _check(value)


def test_placeholder_memo_is_bounded() -> None:
    V._PLACEHOLDER_MEMO.clear()
    for i in range(3 * V._PLACEHOLDER_MEMO_SIZE):
        value = f"Zq9Xw8Vu{i:05d}Ts6" if i % 2 else f"your_api_key_{i}"
        assert V.is_placeholder(value) is V._is_placeholder(value) is bool(i % 2 == 0)
        assert len(V._PLACEHOLDER_MEMO) <= V._PLACEHOLDER_MEMO_SIZE
    V._PLACEHOLDER_MEMO.clear()
    long_value = "Zq9Xw8Vu7Ts6Rq5Po4Nm3Lk2" * 12
    assert len(long_value) > V._PLACEHOLDER_MEMO_MAX_CHARS
    assert V.is_placeholder(long_value) is False and not V._PLACEHOLDER_MEMO
