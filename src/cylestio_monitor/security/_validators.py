"""Validators: pure functions ``(value: str) -> bool`` that confirm a regex match.

A rule names its validator(s) in the rules file (``validator = "luhn"``); a match whose
value fails any validator is dropped. Add a validator by adding it to :data:`VALIDATORS`.
"""

from __future__ import annotations

import base64
import collections
import ipaddress
import math
import re
import string
from typing import Callable, Dict, Iterable, List, Optional, Tuple

__all__ = ["VALIDATORS", "is_placeholder", "shannon_entropy"]


def shannon_entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character."""
    if not value:
        return 0.0
    counts: Dict[str, int] = {}
    _count_into(counts, value)  # what Counter(value) holds, in first-seen order, without its Python layers
    n = len(value)
    if n > _TERM_ROWS_UP_TO:
        return -sum(c / n * math.log2(c / n) for c in counts.values())
    row = _TERM_ROWS.get(n)
    if row is None:
        row = _TERM_ROWS[n] = _term_row(n)
    # the same terms (computed once per length) added in the same order: the same float
    return -sum(map(row.__getitem__, counts.values()))


def _count_py(counts: Dict[str, int], chars: Iterable[str]) -> None:  # pragma: no cover - CPython has the C one
    for c in chars:
        counts[c] = counts.get(c, 0) + 1


# the C helper behind Counter.update (a dict filled in one loop, first-seen order)
_count_into: Callable[[Dict[str, int], Iterable[str]], None] = getattr(collections, "_count_elements", _count_py)

_TERM_ROWS_UP_TO = 1024
_TERM_ROWS: Dict[int, List[float]] = {}


def _term_row(n: int) -> List[float]:
    """``c / n * log2(c / n)`` for ``c`` in ``0..n`` (index 0 unused), as :func:`shannon_entropy` sums them."""
    return [0.0] + [c / n * math.log2(c / n) for c in range(1, n + 1)]


_PLACEHOLDER = re.compile(
    r"(?i)(x{5,}|\*{3,}|\.\.\.|…|<[^>]*>|\$\{|\{\{|%\([a-z_]+\)s|your[_-]?(?:api[_-]?)?(?:key|token|secret|"
    r"password|pass)|(?:key|token|secret|password)[_-]?here|placeholder|changeme|change[_-]?me|replace[_-]?me"
    r"|redacted|changeit|example(?:key|secret|token)|^(?:test|dummy|sample|null|none|true|false|undefined)$"
    # template variables of other syntaxes (%API_KEY%, @API_KEY@, <%= ENV['X'] %>) and bracketed
    # stand-ins ((hidden), [removed], {secret})
    r"|^%[a-z_][a-z0-9_]*%$|^@[a-z_][a-z0-9_]*@$|<%|^[(\[{][^()\[\]{}]{1,40}[)\]}]$)"
)
# environment look-ups; a shell $VAR only in upper case ($production is not one)
_ENV_LOOKUP = re.compile(
    r"(?i)(os\.environ|os\.getenv|process\.env|getenv\(|env\(|(?-i:\$[A-Z_][A-Z0-9_]{2,})|secrets\.)"
)
# a variable reference ($password, ${db_pass}, {password!r} in a format string) or a value cut
# short for display ("ops_eyJ...", "abc..")
_VARIABLE_OR_TRUNCATED = re.compile(
    r"^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$|\.{2,}$|\{[A-Za-z_][\w.]*(?:![rsa])?(?::[^{}]*)?\}"
)


# AWS documentation keys, keyboard rows, words that say "this is not a real one"
_DOC_EXAMPLE = re.compile(r"(?i:example|qwerty|#{4,}|randomstring|string[_-]?here|fake|sample|dummy)")

# the four above in one search (their flags scoped to each): a match of any of them is a match of this
_ANY_PLACEHOLDER_SHAPE = re.compile(
    "|".join(
        (
            "(?i:" + _PLACEHOLDER.pattern[len("(?i)") :] + ")",
            "(?i:" + _ENV_LOOKUP.pattern[len("(?i)") :] + ")",
            _DOC_EXAMPLE.pattern,
            "(?:" + _VARIABLE_OR_TRUNCATED.pattern + ")",
        )
    )
)
assert _PLACEHOLDER.pattern.startswith("(?i)") and _ENV_LOOKUP.pattern.startswith("(?i)")
assert _DOC_EXAMPLE.pattern.startswith("(?i:") and _DOC_EXAMPLE.pattern.endswith(")")

# A value is a sample when most of it is made of runs like ``123456``, ``abcdef``, ``zyx``,
# ``000000``: real keys contain a short run now and then (or an id such as ``511111111`` in a
# Slack token), samples are *dominated* by them.
SEQUENCE_SHARE = 0.6


def _step(a: str, b: str) -> int:
    """+1 / -1 / 0 when ``b`` follows, precedes or repeats ``a`` (digits, or ASCII letters of one
    case; ``9`` -> ``0`` wraps), else 2."""
    if a.isdigit() and b.isdigit():
        d = (ord(b) - ord(a)) % 10
        return {0: 0, 1: 1, 9: -1}.get(d, 2)
    if a.isascii() and b.isascii() and a.isalpha() and b.isalpha() and a.islower() == b.islower():
        d = ord(b) - ord(a)
        return d if d in (-1, 0, 1) else 2
    return 2


def _three_runs() -> re.Pattern[str]:
    """Every 3-character run ``_step`` accepts (``012``, ``901``, ``cba``, ``AAA``, ...)."""
    grams = set()
    for alphabet, wraps in (("0123456789", True), (string.ascii_lowercase, False), (string.ascii_uppercase, False)):
        n = len(alphabet)
        for i in range(n):
            grams.add(alphabet[i] * 3)
            for step in (1, -1):
                idx = [i, i + step, i + 2 * step]
                if wraps:
                    idx = [k % n for k in idx]
                elif not all(0 <= k < n for k in idx):
                    continue
                grams.add("".join(alphabet[k] for k in idx))
    return re.compile("|".join(sorted(grams)))


# a value with no 3-character run has share 0: one regex search instead of a Python loop
_ANY_THREE_RUN = _three_runs()


def _ascii_three_run_search() -> Callable[[str], bool]:
    """``_ANY_THREE_RUN`` for ASCII values by RE2 (a DFA over the literal alternation, where
    Python's ``re`` tries every alternative at every position); ``re`` where RE2 is missing."""
    try:
        import re2

        match = re2.compile(_ANY_THREE_RUN.pattern)._regexp.Match
        unanchored = re2._re2.RE2.Anchor.UNANCHORED
    except (ImportError, AttributeError):  # pragma: no cover - no google-re2, or another layout
        return lambda value: _ANY_THREE_RUN.search(value) is not None

    def found(value: str) -> bool:
        data = value.encode("ascii")
        return match(unanchored, data, 0, len(data))[0][0] >= 0

    return found


_ascii_has_three_run = _ascii_three_run_search()


def _three_run_counter() -> Callable[[bytes, int], int]:
    """``min(limit, number of non-overlapping _ANY_THREE_RUN matches in data)``, by RE2 (ASCII data)."""
    try:
        import re2

        match = re2.compile(_ANY_THREE_RUN.pattern)._regexp.Match
        unanchored = re2._re2.RE2.Anchor.UNANCHORED
    except (ImportError, AttributeError):  # pragma: no cover - no google-re2, or another layout

        def count_re(data: bytes, limit: int) -> int:
            return min(limit, len(_ANY_THREE_RUN.findall(data.decode("ascii"))))

        return count_re

    def count(data: bytes, limit: int) -> int:
        found, pos, end = 0, 0, len(data)
        while found < limit:
            pos = match(unanchored, data, pos, end)[0][1]  # every match is 3 bytes long: never empty
            if pos < 0:
                break
            found += 1
        return found

    return count


_count_three_runs = _three_run_counter()
_ASCII_ALNUM = (string.digits + string.ascii_letters).encode("ascii")


def _sequence_dominated(value: str) -> bool:
    """``sequence_share(value) >= SEQUENCE_SHARE``, mostly without computing the share.

    The runs it counts are disjoint, each of ``k >= 3`` characters holds ``k // 3`` disjoint
    3-character runs (``_ANY_THREE_RUN`` matches) and ``k <= 5 * (k // 3)``; a leftmost scan
    finds the most disjoint matches there are (all are 3 characters long). So with ``m`` of them,
    the covered characters are at most ``5 * m`` and the share is below 0.6 when
    ``25 * m < 3 * alnum``: random keys (a run or two in hundreds of characters) end here.
    """
    if len(value) > 256 and value.isascii():  # shorter: the share costs about what the count does
        data = value.encode("ascii")
        alnum = len(data) - len(data.translate(None, _ASCII_ALNUM))
        if not alnum:
            return False  # sequence_share is 0.0
        limit = -(-3 * alnum // 25)  # the least m with 25 * m >= 3 * alnum
        if _count_three_runs(data, limit) < limit:
            return False
    return sequence_share(value) >= SEQUENCE_SHARE


def _step_tables() -> Tuple[bytes, bytes, bytes, bytes]:
    """Byte tables for ``_ascii_steps``: the successor and the predecessor of each ASCII
    alphanumeric character in the ``_step`` sense (0 where there is none), and the bytes with
    every other character made 1, and made 2."""
    chars = (string.digits + string.ascii_letters).encode("ascii")
    succ, pred = bytearray(256), bytearray(256)
    for a in chars:
        for b in chars:
            s = _step(chr(a), chr(b))
            if s == 1:
                succ[a] = b
            elif s == -1:
                pred[a] = b
    ones = bytes(b if b in chars else 1 for b in range(256))
    twos = bytes(b if b in chars else 2 for b in range(256))
    return bytes(succ), bytes(pred), ones, twos


_SUCC, _PRED, _OTHER_AS_1, _OTHER_AS_2 = _step_tables()
_ZERO_TO_1 = bytes([1] + [0] * 255)  # a byte of an XOR: 1 where the two sides were equal, else 0
_STEP_CHAR = bytes(ord({1: "+", 2: "-", 4: "0"}.get(b, "x")) for b in range(256))
# a run of 2+ equal steps (3+ characters), then the step after it, which the scan skips
_STEP_RUN = re.compile(rb"(\+{2,}|-{2,}|0{2,}).?")


def _ascii_steps(data: bytes) -> bytes:
    """``_step`` of each pair of neighbours of ASCII ``data`` as one byte: ``+`` / ``-`` / ``0``,
    else ``x``; computed for all pairs at once (byte tables, and big-integer XOR as a byte-wise
    comparison of two byte strings) instead of a Python call per pair.

    A pair (a, b) steps +1 when b is the successor of a, -1 when its predecessor, 0 when the
    same (all three only among alphanumerics: the tables make any other character 1 or 2 on
    one side and never equal to the 0 that stands for "no successor" on the other); at most one
    of the three holds, so the three 0/1 masks combine into one byte per pair without carries.
    """
    n = len(data) - 1
    if n <= 0:
        return b""
    first, nxt = data[:-1], int.from_bytes(data[1:].translate(_OTHER_AS_1), "big")
    plus = (int.from_bytes(first.translate(_SUCC), "big") ^ nxt).to_bytes(n, "big").translate(_ZERO_TO_1)
    minus = (int.from_bytes(first.translate(_PRED), "big") ^ nxt).to_bytes(n, "big").translate(_ZERO_TO_1)
    same = (int.from_bytes(first.translate(_OTHER_AS_2), "big") ^ nxt).to_bytes(n, "big").translate(_ZERO_TO_1)
    mask = int.from_bytes(plus, "big") | int.from_bytes(minus, "big") << 1 | int.from_bytes(same, "big") << 2
    return mask.to_bytes(n, "big").translate(_STEP_CHAR)


def sequence_share(value: str) -> float:
    """Share of the alphanumeric characters of ``value`` that lie in runs of 3+ characters
    stepping by +1, -1 or 0 (``abc``, ``987``, ``aaa``)."""
    ascii_only = value.isascii()
    if not (_ascii_has_three_run(value) if ascii_only else _ANY_THREE_RUN.search(value) is not None):
        return 0.0
    n = len(value)
    if ascii_only:  # the steps as a string, the runs by one regex (same scan as below)
        data = value.encode("ascii")
        alnum = n - len(data.translate(None, _ASCII_ALNUM))  # str.isalnum, on ASCII
        if not alnum:
            return 0.0
        return sum(m.end(1) - m.start(1) + 1 for m in _STEP_RUN.finditer(_ascii_steps(data))) / alnum
    alnum = sum(map(str.isalnum, value))
    if not alnum:
        return 0.0
    return _run_coverage(value) / alnum


def _run_coverage(value: str) -> int:
    """How many characters of ``value`` lie in runs of 3+ characters stepping by +1, -1 or 0: the
    plain definition, a loop over the character pairs (``sequence_share`` of non-ASCII values)."""
    n = len(value)
    covered = 0
    i = 0
    while i < n - 1:
        s = _step(value[i], value[i + 1])
        if s == 2:
            i += 1
            continue
        j = i + 1
        while j < n - 1 and _step(value[j], value[j + 1]) == s:
            j += 1
        if j - i >= 2:  # a run of j - i + 1 >= 3 characters
            covered += j - i + 1
            i = j + 1
        else:
            i = j
    return covered


def _placeholder_shape_search() -> Callable[[str], bool]:
    """``_ANY_PLACEHOLDER_SHAPE.search`` as a boolean, by RE2 for ASCII values (one DFA pass, where
    Python's ``re`` tries the whole alternation at every position: ~1.5 us instead of ~15 us).

    Same answer: on ASCII text the pattern's constructs mean the same in both (``\\w`` and case
    folding are ASCII, the negated classes match newlines in both). The one difference is ``$``:
    Python's also matches before a final newline, RE2's only at the end; so a value ending in a
    newline, and any non-ASCII value, goes to Python's ``re``.
    """
    try:
        import re2

        match = re2.compile(_ANY_PLACEHOLDER_SHAPE.pattern)._regexp.Match
        unanchored = re2._re2.RE2.Anchor.UNANCHORED
    except (ImportError, AttributeError):  # pragma: no cover - no google-re2, or another layout
        return lambda value: _ANY_PLACEHOLDER_SHAPE.search(value) is not None

    search = _ANY_PLACEHOLDER_SHAPE.search

    def found(value: str) -> bool:
        if value.isascii() and not value.endswith("\n"):
            data = value.encode("ascii")
            return match(unanchored, data, 0, len(data))[0][0] >= 0
        return search(value) is not None

    return found


_has_placeholder_shape = _placeholder_shape_search()


def is_placeholder(value: str) -> bool:
    """True for obvious placeholders: ``sk-...``, ``YOUR_API_KEY``, ``xxxx``, ``<token>``, ``${X}``,
    values dominated by sample sequences (``ntn_1234567890...``).

    A pure function of the value, asked about one value by several rules of one scan (a key in
    ``X_API_KEY=...`` is judged by its provider's rule and the generic ones): answers for short
    values are remembered (at most ``_PLACEHOLDER_MEMO_SIZE``).
    """
    if len(value) > _PLACEHOLDER_MEMO_MAX_CHARS:
        return _is_placeholder(value)
    found = _PLACEHOLDER_MEMO.get(value)
    if found is None:
        found = _is_placeholder(value)
        if len(_PLACEHOLDER_MEMO) >= _PLACEHOLDER_MEMO_SIZE:
            _PLACEHOLDER_MEMO.clear()  # bounded: start over
        _PLACEHOLDER_MEMO[value] = found
    return found


_PLACEHOLDER_MEMO_SIZE = 256
_PLACEHOLDER_MEMO_MAX_CHARS = 256
_PLACEHOLDER_MEMO: Dict[str, bool] = {}


def _shape_and_run_set() -> Optional[Callable[[bytes], Optional[List[int]]]]:
    """One RE2 pass telling whether ``_ANY_PLACEHOLDER_SHAPE`` (0) and ``_ANY_THREE_RUN`` (1) occur
    in ASCII data: the two searches an ordinary value needs, at the cost of one. ``None`` without
    RE2. Where it applies (ASCII, no final newline) each answer is the one of its own search."""
    try:
        import re2

        found = re2.Set.SearchSet(re2.Options())
        if found.Add(_ANY_PLACEHOLDER_SHAPE.pattern) != 0 or found.Add(_ANY_THREE_RUN.pattern) != 1:
            return None  # pragma: no cover
        found.Compile()
    except (ImportError, AttributeError, TypeError, ValueError):  # pragma: no cover - no google-re2, or another API
        return None
    match: Callable[[bytes], Optional[List[int]]] = found.Match
    return match


_shape_and_run = _shape_and_run_set()


def _is_placeholder(value: str) -> bool:
    if _shape_and_run is not None and value.isascii() and not value.endswith("\n"):
        hits = _shape_and_run(value.encode("ascii")) or ()  # None when neither occurs
        if 0 in hits:
            return True
        if len(value) < 6:
            return False
        rest = value.replace(value[0], "")
        if not rest or not rest.replace(rest[0], ""):
            return True
        return 1 in hits and _sequence_dominated(value)  # no 3-character run: a share of 0
    if _has_placeholder_shape(value):
        return True
    if len(value) < 6:
        return False
    rest = value.replace(value[0], "")
    if not rest or not rest.replace(rest[0], ""):  # one or two characters repeated (len(set(value)) <= 2)
        return True
    return _sequence_dominated(value)


def luhn(value: str) -> bool:
    digits = [ord(c) - 48 for c in value if "0" <= c <= "9"]  # not isdigit(): "²" is a digit int() rejects
    if not 12 <= len(digits) <= 19 or len(set(digits)) < 3:  # 12: Maestro (patterns decide the shape)
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_mod97(value: str) -> bool:
    s = "".join(value.split()).upper()
    if not 15 <= len(s) <= 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    rearranged = s[4:] + s[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def us_ssn(value: str) -> bool:
    d = "".join(c for c in value if c.isdigit())
    if len(d) != 9:
        return False
    area, group, serial = d[:3], d[3:5], d[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return d not in ("123456789", "078051120", "219099999")


def public_ip(value: str) -> bool:
    try:
        ip = ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    if ip.version == 4 and value.count(".") != 3:
        return False
    return bool(ip.is_global) and not ip.is_multicast


def phone(value: str) -> bool:
    digits = sum(c.isdigit() for c in value)
    if not 7 <= digits <= 15:
        return False
    # a bare run of digits, or groups without a phone shape, are ids / amounts, not phone numbers
    if value.isdigit() or re.fullmatch(r"\d{3}-\d{2}-\d{4}", value):
        return False
    shaped = (
        value[0] in "+(0"
        or re.match(r"\d{3}([-. ])\d{3}\1\d{4}\b", value) is not None  # NANP 415-555-0132
        or re.match(r"1[-. ]\(?\d{3}", value) is not None
    )
    if not shaped:
        return False
    # dates (2023-01-15), IPv4 addresses, ISBNs (978-...)
    return not re.fullmatch(r"(19|20)\d\d[-/.]\d\d?[-/.]\d\d?|\d{1,3}(?:\.\d{1,3}){3}|97[89]-[\d-]+", value)


def phone_any(value: str) -> bool:
    """A phone number next to a label ("Fax: 9498777106"): digits alone are accepted."""
    digits = sum(c.isdigit() for c in value)
    return 7 <= digits <= 15 and not re.fullmatch(r"(19|20)\d\d[-/.]\d\d?[-/.]\d\d?", value)


def entropy(value: str) -> bool:
    """A token-like secret: high entropy for its length and not a placeholder."""
    if is_placeholder(value):
        return False
    threshold = 3.0 if len(value) < 20 else 3.3
    return shannon_entropy(value) >= threshold


_CLASSES = (str.islower, str.isupper, str.isdigit)


def password(value: str) -> bool:
    """A plausible password in an assignment: not a placeholder, not code, mixed characters."""
    v = value.strip("'\"")
    if re.search(r"[()\[\]]|^\w+\.\w+", v):  # code: calls, indexing, attribute access
        return False
    if re.fullmatch(r"[A-Za-z_][\w.-]*=[\w.-]*", v):  # a nested setting: min_length=12
        return False
    if not any(c.isdigit() for c in v) and _IDENTIFIER.fullmatch(v.strip("_,")):  # a type: HiddenText
        return False
    return password_literal(v)


def password_literal(value: str) -> bool:
    """A plausible password in a quoted literal (``"n83.bat47Fy4"`` is not attribute access)."""
    v = value.strip("'\"")
    if len(v) < 6 or len(v) > 128 or is_placeholder(v):
        return False
    if re.fullmatch(r"true|false|null|none", v, re.I):
        return False
    # a name, not a value: the credential word itself ("password=password,"), snake_case and
    # UPPER_SNAKE names (user_pass, proxy_auth, CURLOPT_READDATA)
    if re.fullmatch(r"(?i)(?:p[a@]?s{1,2}w(?:o?r)?d|passwd|pwd|pass|secret|token)[,;]?", v):
        return False
    if (_SNAKE_OR_DOTTED.fullmatch(v) and "_" in v) or re.fullmatch(r"[A-Z]{2,}(?:_[A-Z0-9]{2,})+", v):
        return False
    # stand-ins made of words that say so (my-secret-key, super-secret, test-token), and URLs
    if "://" in v or (
        re.fullmatch(r"[a-z]+(?:[-_][a-z]+)+", v)
        and _STAND_IN_WORD.search(v)
    ):
        return False
    classes = sum(any(f(c) for c in v) for f in _CLASSES) + any(not c.isalnum() for c in v)
    if classes < 2 or v.isdigit():
        return False
    return shannon_entropy(v) >= 2.5


def password_argument(value: str) -> bool:
    """A command-line password: quoted, it is a literal (``-p'summer.Dragon1'`` is no attribute
    access), so :func:`password_literal`; bare, :func:`password`."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return password_literal(value[1:-1])
    return password(value)


def user_password(value: str) -> bool:
    """``user:password`` (``curl -u``): the password part is not a placeholder or a variable."""
    _user, sep, pw = value.strip("'\"").partition(":")
    pw = pw.strip("'\"")
    return bool(sep) and len(pw) >= 3 and not is_placeholder(pw)


def password_mixed(value: str) -> bool:
    """A password written in prose ("the password is Tr0ub4dor&3"): :func:`password` and also
    letters with digits, or symbols with both cases - so that words ("incorrect", "re-enter")
    are not taken for one."""
    v = value.strip("'\"")
    if not password(v) or not any(c.isalpha() for c in v):
        return False
    if any(c.isdigit() for c in v):
        return True
    return any(not c.isalnum() for c in v) and any(c.isupper() for c in v) and any(c.islower() for c in v)


_STAND_IN_WORD = re.compile(
    r"(?:^|[-_])(?:secret|password|pass|passwd|key|token|test|dummy|sample|example|change|changeme|replace|your|my"
    r"|super|default|demo|placeholder|here|value|foo|bar)(?:[-_]|$)"
)


# names, not values: SecretManagerKey2, getAccessToken, DB_PASSWORD_FILE, secrets-manager-key
_IDENTIFIER = re.compile(
    r"[A-Z][a-z]+(?:[A-Z][a-z]{2,})+\d{0,3}"  # PascalCase
    r"|[a-z]{2,}(?:[A-Z][a-z]{2,})+\d{0,3}"  # camelCase
    r"|[A-Z]{2,}(?:_[A-Z0-9]{2,})+"  # UPPER_SNAKE
    r"|[a-z]{2,}(?:-[a-z]{2,})+\d{0,3}"  # kebab-case
)


# identifiers and dotted names made of words: my_var_2, foo.bar, api-v2, config.db_host_01 (a
# segment is a word with at most a few trailing digits, or a short number; ``csk-4f8a...``,
# ``live_9c2e...`` have random segments and are not names)
_SNAKE_OR_DOTTED = re.compile(r"[a-z]{1,24}\d{0,3}(?:[_.-](?:[a-z]{1,24}\d{0,3}|\d{1,4}))+")


# file system paths and URL paths: ~/.ssh/id_ed25519.pub, ./certs/server.pem, /api/v1/token
_PATH = re.compile(r"^[~.]{0,2}/|^[\w.-]+(?:/[\w.-]+)+\.[a-z]{1,5}$")

# attribute access / module paths: base64.b64encode, win32api.RegEnumKey, settings.SECRET_KEY
_ATTRIBUTE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,30}(?:\.[A-Za-z_][A-Za-z0-9_]{0,30})+")

# public identifiers with a well-known shape: object ids of the OpenAI and Stripe APIs (run_...,
# chatcmpl-..., cus_..., evt_...), digests (sha256:..., sha512-...), S3 multipart ETags, versions,
# blockchain addresses and IPFS ids, analytics ids (G-XXXX)
_PUBLIC_ID = re.compile(
    r"(?:run|thread|asst|msg|call|file|chatcmpl|cmpl|resp|batch|ftjob|ft|vs|vsfb|org|proj|user|cus|pi|ch|evt|price"
    r"|prod|sub|in|txn|req|acct|pm|src|seti|cs|po|ii|re|tr|py|ipi|plink|si|ri|il|cn|txi)[_-][A-Za-z0-9]{8,40}"
    r"|(?:sha(?:1|224|256|384|512)|md5)[:-][A-Za-z0-9+/=]{16,}"
    r"|[0-9a-f]{32}-\d{1,5}"
    r"|v?\d+\.\d+\.\d+(?:[-+][\w.+-]*)?"
    r"|0x[0-9a-fA-F]{40}|(?:bc1|tb1)[02-9ac-hj-np-z]{25,62}|Qm[1-9A-HJ-NP-Za-km-z]{44}"
    r"|(?:G|UA|GTM|AW|DC)-[A-Z0-9-]{4,20}"
)


# Words of stand-in values ("this_is_a_test_key_1234", "my-github-token-xyz", "SomeRandomSecretValue"):
# a generic token made mostly of them is a sample, not a key (random keys contain no run of words).
_STAND_IN_WORDS = frozenset(
    (
        "a", "an", "and", "any", "api", "app", "are", "auth", "bar", "baz", "big", "client", "code", "config", "cred",
        "creds", "data", "default", "demo", "dev", "development", "dummy", "example", "fake", "foo", "for", "from",
        "get", "github", "gitlab", "here", "hello", "key", "keys", "live", "local", "long", "main", "mock", "my",
        "new", "not", "old", "only", "our", "pass", "passwd", "password", "placeholder", "private", "prod",
        "production", "public", "put", "qux", "random", "real", "replace", "sample", "secret", "secure", "service",
        "set", "some", "staging", "str", "string", "super", "temp", "test", "testing", "text", "that", "the", "this",
        "tmp", "token", "to", "use", "user", "valid", "value", "very", "with", "world", "xxx", "xyz", "you", "your",
        "yours",
    )
)
_WORD_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


# A part of ``_WORD_PART`` is lower case, Capitalized or UPPER case: its ``lower()`` is a stand-in
# word of 2+ letters exactly when the part is one of these spellings of one.
_STAND_IN_SPELLINGS = frozenset(
    f(w) for w in _STAND_IN_WORDS if len(w) >= 2 for f in (str.lower, str.capitalize, str.upper)
)


def _spelling_search() -> Callable[[str], bool]:
    """Whether an ASCII value contains any of ``_STAND_IN_SPELLINGS`` anywhere (RE2, one DFA pass);
    always true where RE2 is missing (the caller then looks at the parts)."""
    try:
        import re2

        pattern = "|".join(sorted(map(re.escape, _STAND_IN_SPELLINGS), key=lambda w: (-len(w), w)))
        match = re2.compile(pattern)._regexp.Match
        unanchored = re2._re2.RE2.Anchor.UNANCHORED
    except (ImportError, AttributeError):  # pragma: no cover - no google-re2, or another layout
        return lambda value: True

    def found(value: str) -> bool:
        data = value.encode("ascii")
        return match(unanchored, data, 0, len(data))[0][0] >= 0

    return found


_has_spelling = _spelling_search()


def _wordy(value: str) -> bool:
    """True when at least two stand-in words cover 60%+ of the letters of ``value``."""
    if value.isascii() and not _has_spelling(value):
        return False  # every hit is a spelling somewhere in the value: no hit at all
    parts = _WORD_PART.findall(value)
    hits = list(filter(_STAND_IN_SPELLINGS.__contains__, parts))
    if len(hits) < 2:
        return False
    letters = sum(map(len, parts))
    return letters > 0 and sum(map(len, hits)) >= 0.6 * letters


def token(value: str) -> bool:
    """A generic token in an assignment: :func:`entropy` plus both letters and digits."""
    v = value.strip("'\"")
    # pure tests joined by "and": any order gives the same answer; the cheap ones go first, and
    # the two patterns that need a "/" (_PATH) or a "." (_ATTRIBUTE) run only when it is there
    return (
        "," not in v  # lists and URIs (tag:yaml.org,2002:str), never a key
        and "://" not in v  # a URL: its credentials, if any, are the URL rules' business
        and any(map(str.isdigit, v))
        and any(map(str.isalpha, v))
        and not _SNAKE_OR_DOTTED.fullmatch(v)
        and not _PUBLIC_ID.fullmatch(v)
        and not _IDENTIFIER.fullmatch(v)
        and not ("/" in v and _PATH.search(v))
        and not ("." in v and _ATTRIBUTE.fullmatch(v) and sum(c.isdigit() for c in v) <= 4)
        and not _wordy(v)
        and entropy(v)
    )


def basic_credentials(value: str) -> bool:
    """The base64 blob of ``Authorization: Basic``: not a sample when it decodes to ``user:password``
    with a placeholder password (``user:<token>``, ``admin:changeme``, ``user:${PASSWORD}``)."""
    if is_placeholder(value):
        return False
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return True  # not base64 of text: an opaque credential
    _user, sep, pw = decoded.partition(":")
    if not sep:
        return True
    return bool(pw) and not is_placeholder(pw)


def basic_pair(value: str) -> bool:
    """A ``Basic`` blob outside an Authorization header: only when it decodes to printable
    ``user:password`` (so base64 of anything else after the word "Basic" is not taken)."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return False
    user, sep, pw = decoded.partition(":")
    return bool(sep and user and pw) and decoded.isprintable() and not is_placeholder(pw)


def sql_no_where(value: str) -> bool:
    """A ``DELETE FROM`` statement without a ``WHERE`` clause."""
    return re.search(r"(?i)\bwhere\b", value) is None


def not_placeholder(value: str) -> bool:
    return not is_placeholder(value)


VALIDATORS: Dict[str, Callable[[str], bool]] = {
    "luhn": luhn,
    "iban_mod97": iban_mod97,
    "us_ssn": us_ssn,
    "public_ip": public_ip,
    "phone": phone,
    "phone_any": phone_any,
    "entropy": entropy,
    "password": password,
    "password_literal": password_literal,
    "password_argument": password_argument,
    "user_password": user_password,
    "password_mixed": password_mixed,
    "token": token,
    "sql_no_where": sql_no_where,
    "basic_credentials": basic_credentials,
    "basic_pair": basic_pair,
    "not_placeholder": not_placeholder,
}
