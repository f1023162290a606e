"""The in-process content channel between the instrumentation and the security layer.

The instrumentation knows nothing of security and the security layer knows nothing of
``openai``: they meet here. Two things travel through this module and neither is ever
exported:

* **Content** of a GenAI call (input messages, system instructions, tool definitions,
  output messages, all in the GenAI semantic-convention message shape but as Python
  objects, not JSON). The instrumentation attaches it to the SDK span object just before
  ending the span, *only* when a consumer is registered (a live
  ``SecurityScanningSpanProcessor``). The processor takes it in ``_on_ending``, which the
  SDK calls with the live span; ``on_end`` gets a read-only snapshot, where this private
  attribute does not travel. SDKs before 1.40 have no ``_on_ending`` and hand ``on_end`` a
  snapshot too, so content never arrived there: that is why 1.40 is our floor. This is how
  scanning keeps working when content capture is off: the prompt text never becomes a
  span attribute, so no exporter can see it.
* **Request guards**: callables that inspect a request's content before any byte is
  sent. A guard raises :class:`RequestBlockedError` to block the call (guard mode); any
  other exception from a guard is a bug of ours and is swallowed by the caller.

Message shape (same as ``gen_ai.input.messages`` / ``gen_ai.output.messages``)::

    {"role": "user", "parts": [{"type": "text", "content": "..."},
                               {"type": "tool_call", "id": "...", "name": "...", "arguments": "..."},
                               {"type": "tool_call_response", "id": "...", "response": "..."}]}
    output messages also carry "finish_reason".

System instructions are a list of parts: ``[{"type": "text", "content": "..."}]``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

__all__ = [
    "GenAIContent",
    "RequestBlockedError",
    "add_consumer",
    "attach",
    "guards",
    "content_redactor",
    "register_guard",
    "set_content_redactor",
    "remove_consumer",
    "take",
    "unregister_guard",
    "wanted",
]

_ATTR = "_cylestio_genai_content"

Message = dict  # one message in the semconv shape (see module docstring)


@dataclass
class GenAIContent:
    """Content of one GenAI call, as plain Python objects (never exported)."""

    input_messages: Optional[List[Message]] = None
    system_instructions: Optional[List[dict]] = None
    tool_definitions: Optional[List[dict]] = None
    output_messages: Optional[List[Message]] = None
    #: field name -> the very ``str`` object the instrumentation wrote as that field's content
    #: attribute (the compact JSON of exactly these objects). The security processor checks
    #: identity (``is``) against the span's attribute to skip re-encoding the objects; anything
    #: else (another writer, a truncated value, no entry) takes the comparing path. Dropped when
    #: code outside the instrumentation (a request guard) has seen the objects.
    encoded: Optional[Dict[str, str]] = field(default=None, compare=False, repr=False)


class RequestBlockedError(Exception):
    """Raised by a request guard to stop a call before it is sent.

    The message names the rule(s) that blocked the call, never the matched value.
    """

    def __init__(self, message: str, *, rule_ids: tuple = (), findings: tuple = ()) -> None:
        super().__init__(message)
        self.rule_ids = tuple(rule_ids)
        self.findings = tuple(findings)


_lock = threading.Lock()
_consumers = 0
# Guards are kept in a tuple replaced on change, so readers need no lock.
_guards: tuple = ()


def add_consumer() -> None:
    """Declare that something will take content from spans (keeps content flowing)."""
    global _consumers
    with _lock:
        _consumers += 1


def remove_consumer() -> None:
    global _consumers
    with _lock:
        _consumers = max(0, _consumers - 1)


def wanted() -> bool:
    """True when a consumer is registered: only then is content built for the channel."""
    return _consumers > 0


def attach(span: Any, content: GenAIContent) -> None:
    """Attach ``content`` to an SDK span object (a private Python attribute, never exported)."""
    try:
        setattr(span, _ATTR, content)
    except Exception:  # a span type that refuses attributes: content simply does not travel
        pass


def take(span: Any) -> Optional[GenAIContent]:
    """Return the content attached to ``span`` (or None) and detach it."""
    content = getattr(span, _ATTR, None)
    if content is not None:
        try:
            delattr(span, _ATTR)
        except Exception:
            pass
    return content


def peek(span: Any) -> Optional[GenAIContent]:
    """Return the content attached to ``span`` without detaching it."""
    return getattr(span, _ATTR, None)


def register_guard(guard: Callable[[GenAIContent], None]) -> None:
    global _guards
    with _lock:
        if guard not in _guards:
            _guards = (*_guards, guard)


def unregister_guard(guard: Callable[[GenAIContent], None]) -> None:
    global _guards
    with _lock:
        _guards = tuple(g for g in _guards if g is not guard)


def guards() -> tuple:
    """The registered request guards (an immutable snapshot)."""
    return _guards


# A function that returns a redacted copy of a GenAIContent. Set by the security layer;
# the instrumentation applies it to content it emits outside spans (log events), which no
# span processor sees.
_redactor: Optional[Callable[[GenAIContent], GenAIContent]] = None


def set_content_redactor(redactor: Optional[Callable[[GenAIContent], GenAIContent]]) -> None:
    global _redactor
    _redactor = redactor


def content_redactor() -> Optional[Callable[[GenAIContent], GenAIContent]]:
    return _redactor
