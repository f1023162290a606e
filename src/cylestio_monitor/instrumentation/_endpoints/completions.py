"""``/completions`` (legacy text completions): create, streamed or not, raw responses.

The request parameters, response ids, finish reasons and usage have the same shape as
chat completions, so those extractors are shared; only the prompt, the choices' text and
the stream deltas differ.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from ..._channel import GenAIContent
from .. import _semconv as sc
from ._base import Attributes, StreamState, get, set_str, usage_attributes
from .chat import ChatEndpoint

__all__ = ["CompletionsEndpoint", "CompletionsStreamState", "prompt_messages"]

_USAGE = ("prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details")


def _prompt_part(prompt: Any) -> dict:
    if isinstance(prompt, str):
        return {"type": "text", "content": prompt}
    # a prompt given as token ids: say so, do not dump the ids
    return {"type": "tokens", "count": len(prompt) if isinstance(prompt, (list, tuple)) else None}


def prompt_messages(prompt: Any) -> List[dict]:
    """``prompt`` (a string, a list of strings, token ids, or a list of those) -> user messages."""
    if prompt is None:
        return []
    if isinstance(prompt, str) or (
        isinstance(prompt, (list, tuple)) and prompt and all(isinstance(p, int) for p in prompt)
    ):
        prompts: List[Any] = [prompt]
    elif isinstance(prompt, (list, tuple)):
        prompts = list(prompt)
    else:
        prompts = [str(prompt)]
    return [{"role": "user", "parts": [_prompt_part(p)]} for p in prompts]


def _choice_message(text: Any, finish_reason: Any) -> dict:
    parts = [{"type": "text", "content": text}] if text else []
    return {"role": "assistant", "parts": parts, "finish_reason": finish_reason}


class CompletionsEndpoint(ChatEndpoint):
    operation = sc.OP_TEXT_COMPLETION

    def request_content(self, body: Mapping[str, Any]) -> GenAIContent:
        return GenAIContent(input_messages=prompt_messages(body.get("prompt")))

    def output_messages(self, response: Any) -> Optional[List[dict]]:
        return [_choice_message(get(c, "text"), get(c, "finish_reason")) for c in get(response, "choices") or ()]

    def new_stream_state(self, want_content: bool) -> StreamState:
        return CompletionsStreamState(want_content)


class CompletionsStreamState(StreamState):
    __slots__ = ("fingerprint", "id", "model", "reasons", "texts", "usage", "want_content")

    def __init__(self, want_content: bool) -> None:
        self.want_content = want_content
        self.id: Optional[str] = None
        self.model: Optional[str] = None
        self.fingerprint: Optional[str] = None
        self.usage: Any = None
        self.reasons: Dict[int, Optional[str]] = {}
        self.texts: Dict[int, List[str]] = {}

    def on_chunk(self, chunk: Any) -> None:
        if self.id is None:
            self.id = get(chunk, "id")
            self.model = get(chunk, "model")
            self.fingerprint = get(chunk, "system_fingerprint")
        usage = get(chunk, "usage")
        if usage is not None:
            self.usage = usage
        for choice in get(chunk, "choices") or ():
            index = get(choice, "index") or 0
            reason = get(choice, "finish_reason")
            if reason is not None or index not in self.reasons:
                self.reasons[index] = reason
            if self.want_content:
                text = get(choice, "text")
                if text:
                    self.texts.setdefault(index, []).append(text)

    @property
    def complete(self) -> bool:
        return bool(self.reasons) and all(r is not None for r in self.reasons.values())

    def attributes(self) -> Attributes:
        attrs: Attributes = {}
        set_str(attrs, sc.RESPONSE_ID, self.id)
        set_str(attrs, sc.RESPONSE_MODEL, self.model)
        if self.reasons:
            attrs[sc.RESPONSE_FINISH_REASONS] = [r or "error" for _, r in sorted(self.reasons.items())]
        attrs.update(usage_attributes(self.usage, *_USAGE))
        set_str(attrs, sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT, self.fingerprint)
        return attrs

    def output_messages(self) -> Optional[List[dict]]:
        return [
            _choice_message("".join(self.texts.get(index, ())), reason or "error")
            for index, reason in sorted(self.reasons.items())
        ]
