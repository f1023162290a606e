"""Content capture for chat: modes, the semconv message JSON, tool calls and definitions."""

from __future__ import annotations

import json

import pytest

from cylestio_monitor.instrumentation import _semconv as sc
from cylestio_monitor.instrumentation._content import ContentMode, resolve_mode

from . import mock_openai, replay
from .cassettes import ROOT, load

TOOLS = load(ROOT / "otel-contrib/test_chat_completion_tool_calls_with_content.yaml")
TOOL_STREAM = load(ROOT / "otel-contrib/test_chat_completion_multiple_tools_streaming_with_content.yaml")[0]
NONSTREAM = load(ROOT / "otel-contrib/test_chat_completion_with_content.yaml")[0]


def _call(item, is_async=False):
    c = replay.client(item, is_async)
    known, extra = replay.split_kwargs(c.chat.completions.create, item.request)
    result = c.chat.completions.create(**known, extra_body=extra or None)
    return list(result) if item.request.get("stream") else result


def _expected_input(messages):
    """What the semconv schema says the recorded request messages become."""
    out = []
    for m in messages:
        if m["role"] == "tool":
            out.append({"role": "tool", "parts": [
                {"type": "tool_call_response", "id": m["tool_call_id"], "response": m["content"]}]})
            continue
        parts = [{"type": "text", "content": m["content"]}] if isinstance(m.get("content"), str) else []
        for call in m.get("tool_calls") or ():
            parts.append({"type": "tool_call", "id": call["id"], "name": call["function"]["name"],
                          "arguments": call["function"]["arguments"]})
        out.append({"role": m["role"], "parts": parts})
    return out


@pytest.mark.parametrize("capture_content", ["SPAN_ONLY"])
@pytest.mark.parametrize("index", range(len(TOOLS)))
def test_tool_call_round_trip_recorded_as_semconv_messages(index, instrument, span_exporter):
    item = TOOLS[index]
    with replay.use(item):
        _call(item)
    (span,) = span_exporter.get_finished_spans()
    assert json.loads(span.attributes[sc.INPUT_MESSAGES]) == _expected_input(item.request["messages"])

    body = item.json()
    want_output = []
    for choice in body["choices"]:
        message = choice["message"]
        parts = [{"type": "text", "content": message["content"]}] if message.get("content") else []
        for call in message.get("tool_calls") or ():
            parts.append({"type": "tool_call", "id": call["id"], "name": call["function"]["name"],
                          "arguments": call["function"]["arguments"]})
        want_output.append({"role": "assistant", "parts": parts, "finish_reason": choice["finish_reason"]})
    assert json.loads(span.attributes[sc.OUTPUT_MESSAGES]) == want_output

    tools = item.request.get("tools")
    if tools:
        definitions = json.loads(span.attributes[sc.TOOL_DEFINITIONS])
        assert [d["name"] for d in definitions] == [t["function"]["name"] for t in tools]
        assert definitions[0]["parameters"] == tools[0]["function"]["parameters"]


@pytest.mark.parametrize("capture_content", ["SPAN_ONLY"])
def test_streamed_tool_calls_are_assembled(instrument, span_exporter):
    with replay.use(TOOL_STREAM):
        _call(TOOL_STREAM)
    (span,) = span_exporter.get_finished_spans()
    output = json.loads(span.attributes[sc.OUTPUT_MESSAGES])
    # assemble the recorded deltas independently of our code
    calls: dict = {}
    for chunk in TOOL_STREAM.events():
        for choice in chunk.get("choices") or ():
            for delta in (choice.get("delta") or {}).get("tool_calls") or ():
                slot = calls.setdefault(delta["index"], {"id": None, "name": None, "arguments": ""})
                slot["id"] = delta.get("id") or slot["id"]
                function = delta.get("function") or {}
                slot["name"] = function.get("name") or slot["name"]
                slot["arguments"] += function.get("arguments") or ""
    got = [p for p in output[0]["parts"] if p["type"] == "tool_call"]
    assert got == [{"type": "tool_call", **calls[i]} for i in sorted(calls)]
    assert all(json.loads(p["arguments"]) for p in got)  # complete JSON, not fragments
    assert output[0]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("capture_content", ["NO_CONTENT"])
def test_no_content_by_default(instrument, span_exporter):
    with replay.use(TOOLS[0]):
        _call(TOOLS[0])
    (span,) = span_exporter.get_finished_spans()
    for name in (sc.INPUT_MESSAGES, sc.OUTPUT_MESSAGES, sc.SYSTEM_INSTRUCTIONS, sc.TOOL_DEFINITIONS):
        assert name not in span.attributes
    assert sc.RESPONSE_ID in span.attributes


def test_system_messages_and_content_parts(tracer_provider, meter_provider, span_exporter):
    from cylestio_monitor.instrumentation import OpenAIInstrumentor

    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, capture_content=True)
    try:
        client = mock_openai.client(mock_openai.responder(NONSTREAM.body))
        client.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 5000}},
            ]},
            {"role": "assistant", "content": None},
        ])
    finally:
        instrumentor.uninstrument()
    (span,) = span_exporter.get_finished_spans()
    messages = json.loads(span.attributes[sc.INPUT_MESSAGES])
    assert messages[0] == {"role": "system", "parts": [{"type": "text", "content": "You are terse."}]}
    assert messages[1]["parts"] == [
        {"type": "text", "content": "What is this?"},
        {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"},
        {"type": "blob", "modality": "image", "mime_type": "image/png"},  # no megabytes of base64
    ]
    assert messages[2] == {"role": "assistant", "parts": []}


@pytest.mark.parametrize(
    ("env", "explicit", "mode"),
    [
        (None, None, ContentMode.NO_CONTENT),
        ("true", None, ContentMode.SPAN_ONLY),
        ("False", None, ContentMode.NO_CONTENT),
        ("span_and_event", None, ContentMode.SPAN_AND_EVENT),
        ("EVENT_ONLY", None, ContentMode.EVENT_ONLY),
        ("bogus", None, ContentMode.NO_CONTENT),
        ("SPAN_ONLY", "NO_CONTENT", ContentMode.NO_CONTENT),
        (None, False, ContentMode.NO_CONTENT),
        (None, True, ContentMode.SPAN_ONLY),
    ],
)
def test_mode_resolution(monkeypatch, env, explicit, mode):
    if env is None:
        monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    else:
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", env)
    assert resolve_mode(explicit) is mode


def test_bad_keyword_is_a_clear_error():
    with pytest.raises(ValueError, match="capture_content must be one of"):
        resolve_mode("sometimes")


def test_event_only_mode_emits_a_log_event_not_span_attributes(tracer_provider, meter_provider, span_exporter):
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

    from cylestio_monitor.instrumentation import OpenAIInstrumentor

    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider,
                            logger_provider=logger_provider, capture_content="EVENT_ONLY")
    try:
        with replay.use(NONSTREAM):
            _call(NONSTREAM)
    finally:
        instrumentor.uninstrument()
    (span,) = span_exporter.get_finished_spans()
    assert sc.INPUT_MESSAGES not in span.attributes
    (record,) = logs.get_finished_logs()
    log = record.log_record
    assert log.event_name == sc.EVENT_OPERATION_DETAILS
    assert json.loads(log.attributes[sc.INPUT_MESSAGES])[0]["parts"][0]["content"] == "Say this is a test"
    assert log.span_id == span.context.span_id


class _Peek:
    """A span processor that sees the live span (``_on_ending``): the channel content and attributes."""

    def __init__(self):
        self.seen = []

    def on_start(self, span, parent_context=None):
        pass

    def _on_ending(self, span):
        from cylestio_monitor import _channel

        self.seen.append((_channel.peek(span), dict(span.attributes)))

    def on_end(self, span):
        pass

    def shutdown(self):
        pass

    def force_flush(self, timeout_millis=30000):
        return True


@pytest.mark.parametrize("capture_content", ["SPAN_ONLY"])
@pytest.mark.parametrize("with_guard", [False, True])
def test_channel_content_carries_the_attribute_strings_it_was_encoded_to(with_guard, instrument, tracer_provider):
    from cylestio_monitor import _channel

    peek = _Peek()
    tracer_provider.add_span_processor(peek)
    _channel.add_consumer()

    def guard(content):
        return None

    if with_guard:
        _channel.register_guard(guard)
    try:
        for item in (NONSTREAM, TOOL_STREAM):
            with replay.use(item):
                _call(item)
    finally:
        _channel.unregister_guard(guard)
        _channel.remove_consumer()
    assert len(peek.seen) == 2
    for content, attrs in peek.seen:
        if with_guard:  # a guard saw (and may have changed) the objects: the processor must compare
            assert content.encoded is None
            continue
        assert content.encoded["input_messages"] is attrs[sc.INPUT_MESSAGES]
        assert content.encoded["output_messages"] is attrs[sc.OUTPUT_MESSAGES]
        assert json.loads(attrs[sc.OUTPUT_MESSAGES]) == content.output_messages
        assert ("tool_definitions" in content.encoded) == (sc.TOOL_DEFINITIONS in attrs)
