"""``/chat/completions``: create (streamed or not), parse, .stream(), raw responses."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from ..._channel import GenAIContent
from .. import _semconv as sc
from ._base import Attributes, Endpoint, StreamState, get, number_attrs, set_str, usage_attributes

__all__ = ["ChatEndpoint", "input_messages", "tool_definitions"]

_NUMBERS = (
    ("temperature", sc.REQUEST_TEMPERATURE),
    ("top_p", sc.REQUEST_TOP_P),
    ("frequency_penalty", sc.REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", sc.REQUEST_PRESENCE_PENALTY),
    ("seed", sc.REQUEST_SEED),
)
_JSON_FORMATS = frozenset(("json_object", "json_schema"))


def _text_part(text: Any) -> dict:
    return {"type": "text", "content": text}


def _content_parts(content: Any) -> List[dict]:
    """A chat message ``content``: a string, or a list of typed content parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [_text_part(content)]
    parts: List[dict] = []
    if not isinstance(content, (list, tuple)):
        return [_text_part(str(content))]
    for part in content:
        kind = get(part, "type")
        if kind == "text":
            parts.append(_text_part(get(part, "text")))
        elif kind == "refusal":
            parts.append(_text_part(get(part, "refusal")))
        elif kind == "image_url":
            url = get(get(part, "image_url"), "url")
            if isinstance(url, str) and url.startswith("data:"):
                # inline image: record that it was there, not megabytes of base64
                parts.append({"type": "blob", "modality": "image", "mime_type": url[5:].split(";", 1)[0]})
            else:
                parts.append({"type": "uri", "modality": "image", "uri": url})
        elif kind == "input_audio":
            fmt = get(get(part, "input_audio"), "format")
            parts.append({"type": "blob", "modality": "audio", "mime_type": f"audio/{fmt}" if fmt else None})
        elif kind == "file":
            file = get(part, "file")
            parts.append({"type": "file", "file_id": get(file, "file_id"), "filename": get(file, "filename")})
        else:
            parts.append({"type": str(kind)})
    return parts


def _tool_call_parts(tool_calls: Any) -> List[dict]:
    parts = []
    for call in tool_calls or ():
        function = get(call, "function")
        parts.append(
            {
                "type": "tool_call",
                "id": get(call, "id"),
                "name": get(function, "name"),
                "arguments": get(function, "arguments"),
            }
        )
    return parts


def input_messages(messages: Any) -> List[dict]:
    """OpenAI chat messages -> semconv input messages (system messages included, in order)."""
    result: List[dict] = []
    if not isinstance(messages, (list, tuple)):
        return result
    for message in messages:
        role = get(message, "role")
        if role == "tool":
            parts: List[dict] = [
                {"type": "tool_call_response", "id": get(message, "tool_call_id"),
                 "response": get(message, "content")}
            ]
        elif role == "function":  # legacy function result
            parts = [{"type": "tool_call_response", "id": get(message, "name"), "response": get(message, "content")}]
        else:
            parts = _content_parts(get(message, "content"))
            parts.extend(_tool_call_parts(get(message, "tool_calls")))
            function_call = get(message, "function_call")
            if function_call is not None:
                parts.append({"type": "tool_call", "id": None, "name": get(function_call, "name"),
                              "arguments": get(function_call, "arguments")})
        result.append({"role": role, "parts": parts})
    return result


def tool_definitions(tools: Any) -> Optional[List[dict]]:
    if not isinstance(tools, (list, tuple)) or not tools:
        return None
    result = []
    for tool in tools:
        function = get(tool, "function")
        if function is not None:
            result.append({"type": get(tool, "type") or "function", "name": get(function, "name"),
                           "description": get(function, "description"),
                           "parameters": get(function, "parameters")})
        else:  # Responses-style flat tool, or an unknown kind: keep its name and type
            result.append({"type": get(tool, "type"), "name": get(tool, "name"),
                           "description": get(tool, "description"), "parameters": get(tool, "parameters")})
    return result


def _output_message(message: Any, finish_reason: Any) -> dict:
    parts = _content_parts(get(message, "content"))
    refusal = get(message, "refusal")
    if refusal:
        parts.append(_text_part(refusal))
    parts.extend(_tool_call_parts(get(message, "tool_calls")))
    function_call = get(message, "function_call")
    if function_call is not None:
        parts.append({"type": "tool_call", "id": None, "name": get(function_call, "name"),
                      "arguments": get(function_call, "arguments")})
    return {"role": get(message, "role") or "assistant", "parts": parts, "finish_reason": finish_reason}


class ChatEndpoint(Endpoint):
    operation = sc.OP_CHAT
    api_type = sc.API_TYPE_CHAT_COMPLETIONS

    def request_attributes(self, body: Mapping[str, Any]) -> Attributes:
        attrs: Attributes = {}
        set_str(attrs, sc.REQUEST_MODEL, body.get("model"))
        number_attrs(body, _NUMBERS, attrs)
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
            attrs[sc.REQUEST_MAX_TOKENS] = max_tokens
        stop = body.get("stop")
        if isinstance(stop, str):
            attrs[sc.REQUEST_STOP_SEQUENCES] = [stop]
        elif isinstance(stop, (list, tuple)) and stop and all(isinstance(s, str) for s in stop):
            attrs[sc.REQUEST_STOP_SEQUENCES] = list(stop)
        n = body.get("n")
        if isinstance(n, int) and not isinstance(n, bool) and n != 1:
            attrs[sc.REQUEST_CHOICE_COUNT] = n
        response_format = get(body.get("response_format"), "type")
        if isinstance(response_format, str):
            attrs[sc.OUTPUT_TYPE] = sc.OUTPUT_JSON if response_format in _JSON_FORMATS else sc.OUTPUT_TEXT
        set_str(attrs, sc.OPENAI_REQUEST_SERVICE_TIER, body.get("service_tier"))
        set_str(attrs, sc.OPENAI_REQUEST_REASONING_EFFORT, body.get("reasoning_effort"))
        return attrs

    def request_content(self, body: Mapping[str, Any]) -> GenAIContent:
        return GenAIContent(
            input_messages=input_messages(body.get("messages")),
            tool_definitions=tool_definitions(body.get("tools") or body.get("functions")),
        )

    def response_attributes(self, response: Any) -> Attributes:
        attrs: Attributes = {}
        set_str(attrs, sc.RESPONSE_ID, get(response, "id"))
        set_str(attrs, sc.RESPONSE_MODEL, get(response, "model"))
        choices = get(response, "choices") or ()
        reasons = [str(get(c, "finish_reason")) for c in choices if get(c, "finish_reason") is not None]
        if reasons:
            attrs[sc.RESPONSE_FINISH_REASONS] = reasons
        attrs.update(
            usage_attributes(get(response, "usage"), "prompt_tokens", "completion_tokens",
                             "prompt_tokens_details", "completion_tokens_details")
        )
        set_str(attrs, sc.OPENAI_RESPONSE_SERVICE_TIER, get(response, "service_tier"))
        set_str(attrs, sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT, get(response, "system_fingerprint"))
        return attrs

    def output_messages(self, response: Any) -> Optional[List[dict]]:
        return [_output_message(get(c, "message"), get(c, "finish_reason")) for c in get(response, "choices") or ()]

    def new_stream_state(self, want_content: bool) -> StreamState:
        return ChatStreamState(want_content)


class _Choice:
    __slots__ = ("finish_reason", "role", "text", "tool_calls")

    def __init__(self) -> None:
        self.role: Optional[str] = None
        self.text: List[str] = []
        self.tool_calls: Dict[int, List[Any]] = {}  # index -> [id, name, [argument pieces]]
        self.finish_reason: Optional[str] = None


class ChatStreamState(StreamState):
    __slots__ = ("choices", "fingerprint", "id", "model", "service_tier", "usage", "want_content")

    def __init__(self, want_content: bool) -> None:
        self.want_content = want_content
        self.id: Optional[str] = None
        self.model: Optional[str] = None
        self.service_tier: Optional[str] = None
        self.fingerprint: Optional[str] = None
        self.usage: Any = None
        self.choices: Dict[int, _Choice] = {}

    def on_chunk(self, chunk: Any) -> None:
        if self.id is None:
            self.id = get(chunk, "id")
            self.model = get(chunk, "model")
        if self.fingerprint is None:
            self.fingerprint = get(chunk, "system_fingerprint")
        if self.service_tier is None:
            self.service_tier = get(chunk, "service_tier")
        usage = get(chunk, "usage")
        if usage is not None:
            self.usage = usage
        for choice in get(chunk, "choices") or ():
            index = get(choice, "index") or 0
            state = self.choices.get(index)
            if state is None:
                state = self.choices[index] = _Choice()
            reason = get(choice, "finish_reason")
            if reason is not None:
                state.finish_reason = reason
            if self.want_content:
                self._content(state, get(choice, "delta"))

    @staticmethod
    def _content(state: _Choice, delta: Any) -> None:
        if delta is None:
            return
        if state.role is None:
            state.role = get(delta, "role")
        text = get(delta, "content")
        if text:
            state.text.append(text)
        refusal = get(delta, "refusal")
        if refusal:
            state.text.append(refusal)
        for call in get(delta, "tool_calls") or ():
            slot = state.tool_calls.setdefault(get(call, "index") or 0, [None, None, []])
            if get(call, "id"):
                slot[0] = get(call, "id")
            function = get(call, "function")
            if function is not None:
                if get(function, "name"):
                    slot[1] = get(function, "name")
                arguments = get(function, "arguments")
                if arguments:
                    slot[2].append(arguments)

    @property
    def complete(self) -> bool:
        return bool(self.choices) and all(c.finish_reason is not None for c in self.choices.values())

    def attributes(self) -> Attributes:
        attrs: Attributes = {}
        set_str(attrs, sc.RESPONSE_ID, self.id)
        set_str(attrs, sc.RESPONSE_MODEL, self.model)
        reasons = [c.finish_reason or "error" for _, c in sorted(self.choices.items())]
        if reasons:
            attrs[sc.RESPONSE_FINISH_REASONS] = reasons
        attrs.update(usage_attributes(self.usage, "prompt_tokens", "completion_tokens",
                                      "prompt_tokens_details", "completion_tokens_details"))
        set_str(attrs, sc.OPENAI_RESPONSE_SERVICE_TIER, self.service_tier)
        set_str(attrs, sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT, self.fingerprint)
        return attrs

    def output_messages(self) -> Optional[List[dict]]:
        messages = []
        for _, choice in sorted(self.choices.items()):
            parts: List[dict] = []
            if choice.text:
                parts.append(_text_part("".join(choice.text)))
            for _, (call_id, name, pieces) in sorted(choice.tool_calls.items()):
                parts.append({"type": "tool_call", "id": call_id, "name": name, "arguments": "".join(pieces)})
            messages.append({"role": choice.role or "assistant", "parts": parts,
                             "finish_reason": choice.finish_reason or "error"})
        return messages
