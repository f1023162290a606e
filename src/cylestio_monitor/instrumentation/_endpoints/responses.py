"""``/responses`` (the Responses API): create (streamed or not), ``.stream()``, ``parse``.

Only ``POST /responses`` is an inference call; ``/responses/{id}``, ``/input_items``,
``/cancel`` and the like are other URLs and pass through untraced.

Finish reasons come from the response ``status``: ``completed`` -> ``stop`` (or
``tool_calls`` when the output asks for a function call, as chat completions say it),
``incomplete`` -> ``incomplete_details.reason`` (``max_output_tokens``,
``content_filter``), ``failed`` -> ``error``, ``cancelled`` -> ``cancelled``. A failed
response (or a stream ``error`` event the SDK does not raise) also sets ``error.type``
to the error code it carries.

Streams: the terminal events (``response.completed`` / ``.incomplete`` / ``.failed``)
carry the whole final response, which is then read exactly like a non-streamed one. Until
then only the latest snapshot (``response.created`` / ``.in_progress``: id, model), the
finished output items and, with content on, the text deltas of the item in progress are
kept, so a stream cut short still reports what it said.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from ..._channel import GenAIContent
from .. import _semconv as sc
from ._base import Attributes, Endpoint, StreamState, get, number_attrs, set_str, usage_attributes
from .chat import tool_definitions

__all__ = ["ResponsesEndpoint", "ResponsesStreamState", "input_messages", "output_message"]

_NUMBERS = (("temperature", sc.REQUEST_TEMPERATURE), ("top_p", sc.REQUEST_TOP_P))
_USAGE = ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details")
_JSON_FORMATS = frozenset(("json_object", "json_schema"))
_TERMINAL = frozenset(("response.completed", "response.incomplete", "response.failed"))
_SNAPSHOT = frozenset(("response.created", "response.in_progress", "response.queued"))
_TOOL_CALLS = frozenset(("function_call", "custom_tool_call"))


def _text(value: Any) -> dict:
    return {"type": "text", "content": value}


def _content_parts(content: Any) -> List[dict]:
    """A message ``content``: a string or a list of input/output content parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [_text(content)]
    if not isinstance(content, (list, tuple)):
        return [_text(str(content))]
    parts: List[dict] = []
    for part in content:
        kind = get(part, "type")
        if kind in ("input_text", "output_text", "text", "summary_text", "reasoning_text"):
            parts.append(_text(get(part, "text")))
        elif kind == "refusal":
            parts.append(_text(get(part, "refusal")))
        elif kind == "input_image":
            url = get(part, "image_url")
            if isinstance(url, str) and url.startswith("data:"):
                parts.append({"type": "blob", "modality": "image", "mime_type": url[5:].split(";", 1)[0]})
            elif url:
                parts.append({"type": "uri", "modality": "image", "uri": url})
            else:
                parts.append({"type": "file", "modality": "image", "file_id": get(part, "file_id")})
        elif kind == "input_file":
            parts.append({"type": "file", "file_id": get(part, "file_id"), "filename": get(part, "filename")})
        elif kind == "input_audio":
            fmt = get(get(part, "input_audio"), "format")
            parts.append({"type": "blob", "modality": "audio", "mime_type": f"audio/{fmt}" if fmt else None})
        else:
            parts.append({"type": str(kind)})
    return parts


def _reasoning_part(item: Any) -> dict:
    texts = [get(s, "text") for s in get(item, "summary") or () if get(s, "text")]
    if not texts:
        texts = [get(c, "text") for c in get(item, "content") or () if get(c, "text")]
    return {"type": "reasoning", "content": "\n\n".join(texts)}


def _item_parts(item: Any) -> List[dict]:
    """One input or output item that is not a message -> its parts."""
    kind = get(item, "type")
    if kind == "function_call":
        return [{"type": "tool_call", "id": get(item, "call_id"), "name": get(item, "name"),
                 "arguments": get(item, "arguments")}]
    if kind == "custom_tool_call":
        return [{"type": "tool_call", "id": get(item, "call_id"), "name": get(item, "name"),
                 "arguments": get(item, "input")}]
    if kind in ("function_call_output", "custom_tool_call_output"):
        return [{"type": "tool_call_response", "id": get(item, "call_id"), "response": get(item, "output")}]
    if kind == "reasoning":
        return [_reasoning_part(item)]
    if isinstance(kind, str) and kind.endswith("_call"):  # built-in tools: web_search_call, ...
        return [{"type": "tool_call", "id": get(item, "id"), "name": kind[:-5]}]
    return [{"type": str(kind)}]


def _item_role(item: Any) -> str:
    kind = get(item, "type")
    if kind in ("function_call_output", "custom_tool_call_output"):
        return "tool"
    return "assistant"


def input_messages(value: Any) -> List[dict]:
    """Responses ``input``: a string, or a list of items -> semconv input messages."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "parts": [_text(value)]}]
    if not isinstance(value, (list, tuple)):
        return []
    result: List[dict] = []
    for item in value:
        kind = get(item, "type")
        role = get(item, "role")
        if role is not None and kind in (None, "message"):
            result.append({"role": role, "parts": _content_parts(get(item, "content"))})
        else:
            result.append({"role": _item_role(item), "parts": _item_parts(item)})
    return result


def _instructions(value: Any) -> Optional[List[dict]]:
    if isinstance(value, str):
        return [_text(value)] if value else None
    if isinstance(value, (list, tuple)) and value:
        parts: List[dict] = []
        for message in input_messages(value):
            parts.extend(message["parts"])
        return parts or None
    return None


def _finish_reason(response: Any, output: Any) -> Optional[str]:
    status = get(response, "status")
    if status == "completed":
        return "tool_calls" if any(get(i, "type") in _TOOL_CALLS for i in output or ()) else "stop"
    if status == "incomplete":
        return get(get(response, "incomplete_details"), "reason") or "incomplete"
    if status == "failed":
        return "error"
    if status == "cancelled":
        return "cancelled"
    return None


def output_message(output: Any, finish_reason: Optional[str]) -> dict:
    """All output items of one response -> one assistant message."""
    parts: List[dict] = []
    for item in output or ():
        if get(item, "type") == "message":
            parts.extend(_content_parts(get(item, "content")))
        else:
            parts.extend(_item_parts(item))
    return {"role": "assistant", "parts": parts, "finish_reason": finish_reason}


def _response_attributes(response: Any) -> Attributes:
    attrs: Attributes = {}
    set_str(attrs, sc.RESPONSE_ID, get(response, "id"))
    set_str(attrs, sc.RESPONSE_MODEL, get(response, "model"))
    reason = _finish_reason(response, get(response, "output"))
    if reason:
        attrs[sc.RESPONSE_FINISH_REASONS] = [reason]
    attrs.update(usage_attributes(get(response, "usage"), *_USAGE))
    set_str(attrs, sc.OPENAI_RESPONSE_SERVICE_TIER, get(response, "service_tier"))
    set_str(attrs, sc.CONVERSATION_ID, get(get(response, "conversation"), "id"))
    if get(response, "status") == "failed":
        attrs[sc.ERROR_TYPE] = str(get(get(response, "error"), "code") or "failed")
    return attrs


class ResponsesEndpoint(Endpoint):
    operation = sc.OP_CHAT
    api_type = sc.API_TYPE_RESPONSES

    def request_attributes(self, body: Mapping[str, Any]) -> Attributes:
        attrs: Attributes = {}
        set_str(attrs, sc.REQUEST_MODEL, body.get("model"))
        number_attrs(body, _NUMBERS, attrs)
        max_tokens = body.get("max_output_tokens")
        if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
            attrs[sc.REQUEST_MAX_TOKENS] = max_tokens
        stream = body.get("stream")
        if isinstance(stream, bool):
            attrs[sc.REQUEST_STREAM] = stream
        fmt = get(get(body.get("text"), "format"), "type")
        if isinstance(fmt, str):
            attrs[sc.OUTPUT_TYPE] = sc.OUTPUT_JSON if fmt in _JSON_FORMATS else sc.OUTPUT_TEXT
        set_str(attrs, sc.OPENAI_REQUEST_SERVICE_TIER, body.get("service_tier"))
        set_str(attrs, sc.OPENAI_REQUEST_REASONING_EFFORT, get(body.get("reasoning"), "effort"))
        set_str(attrs, sc.OPENAI_REQUEST_PREVIOUS_RESPONSE_ID, body.get("previous_response_id"))
        conversation = body.get("conversation")
        set_str(attrs, sc.CONVERSATION_ID, conversation if isinstance(conversation, str) else get(conversation, "id"))
        return attrs

    def request_content(self, body: Mapping[str, Any]) -> GenAIContent:
        return GenAIContent(
            input_messages=input_messages(body.get("input")),
            system_instructions=_instructions(body.get("instructions")),
            tool_definitions=tool_definitions(body.get("tools")),
        )

    def response_attributes(self, response: Any) -> Attributes:
        return _response_attributes(response)

    def output_messages(self, response: Any) -> Optional[List[dict]]:
        output = get(response, "output")
        return [output_message(output, _finish_reason(response, output))]

    def new_stream_state(self, want_content: bool) -> StreamState:
        return ResponsesStreamState(want_content)


class ResponsesStreamState(StreamState):
    __slots__ = ("error", "final", "items", "snapshot", "texts", "want_content")

    def __init__(self, want_content: bool) -> None:
        self.want_content = want_content
        self.snapshot: Any = None  # latest response.created / in_progress response
        self.final: Any = None  # the response of the terminal event
        self.error: Optional[str] = None  # code of an ``error`` event
        self.items: Dict[int, Any] = {}  # output_index -> finished item
        self.texts: Dict[int, List[str]] = {}  # output_index -> text deltas of an unfinished item

    def on_chunk(self, chunk: Any) -> None:
        kind = get(chunk, "type")
        if kind == "response.output_text.delta":
            if self.want_content:
                self.texts.setdefault(get(chunk, "output_index") or 0, []).append(get(chunk, "delta") or "")
        elif kind in _TERMINAL:
            self.final = get(chunk, "response")
        elif kind in _SNAPSHOT:
            self.snapshot = get(chunk, "response")
        elif kind == "response.output_item.done":
            if self.want_content:
                index = get(chunk, "output_index") or 0
                self.items[index] = get(chunk, "item")
                self.texts.pop(index, None)
        elif kind == "error":
            self.error = str(get(chunk, "code") or "error")

    @property
    def complete(self) -> bool:
        return self.final is not None or self.error is not None

    def attributes(self) -> Attributes:
        if self.final is not None:
            return _response_attributes(self.final)
        attrs: Attributes = {}
        snapshot = self.snapshot
        if snapshot is not None:
            set_str(attrs, sc.RESPONSE_ID, get(snapshot, "id"))
            set_str(attrs, sc.RESPONSE_MODEL, get(snapshot, "model"))
            set_str(attrs, sc.CONVERSATION_ID, get(get(snapshot, "conversation"), "id"))
        attrs[sc.RESPONSE_FINISH_REASONS] = ["error"]  # no terminal event: cut short
        if self.error is not None:
            attrs[sc.ERROR_TYPE] = self.error
        return attrs

    def output_messages(self) -> Optional[List[dict]]:
        if self.final is not None:
            output = get(self.final, "output")
            return [output_message(output, _finish_reason(self.final, output))]
        message = output_message([item for _, item in sorted(self.items.items())], "error")
        for _, pieces in sorted(self.texts.items()):
            message["parts"].append(_text("".join(pieces)))
        return [message]
