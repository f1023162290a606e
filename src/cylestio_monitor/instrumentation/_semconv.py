"""Every attribute, metric and value name the instrumentation writes, in one place.

Names come from ``opentelemetry-semantic-conventions`` where it defines them; the few it
does not define yet are ours and are marked as such.
"""

from __future__ import annotations

from types import ModuleType
from typing import Dict, Optional, Tuple

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as _g
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as _m
from opentelemetry.semconv.attributes import error_attributes as _e
from opentelemetry.semconv.attributes import http_attributes as _h
from opentelemetry.semconv.attributes import server_attributes as _s

_o: Optional[ModuleType]
try:  # semantic-conventions >= 0.59b0
    from opentelemetry.semconv._incubating.attributes import openai_attributes as _o
except ImportError:  # pragma: no cover - older semantic-conventions
    _o = None

# Names that newer semantic-conventions releases added after the oldest we support (0.61b0):
# (module, constant) -> the name we write when that release does not define it yet. A test
# checks each against the installed release, so the two cannot drift apart.
FALLBACKS: Dict[Tuple[str, str], str] = {}


def _pick(module: Optional[ModuleType], constant: str, name: str) -> str:
    FALLBACKS[(module.__name__ if module is not None else "openai_attributes", constant)] = name
    value = getattr(module, constant, None) if module is not None else None
    return value if isinstance(value, str) else name


OPENAI_API_TYPE = _pick(_o, "OPENAI_API_TYPE", "openai.api.type")
OPENAI_REQUEST_SERVICE_TIER = _pick(_o, "OPENAI_REQUEST_SERVICE_TIER", "openai.request.service_tier")
OPENAI_RESPONSE_SERVICE_TIER = _pick(_o, "OPENAI_RESPONSE_SERVICE_TIER", "openai.response.service_tier")
OPENAI_RESPONSE_SYSTEM_FINGERPRINT = _pick(
    _o, "OPENAI_RESPONSE_SYSTEM_FINGERPRINT", "openai.response.system_fingerprint"
)

OPERATION_NAME = _g.GEN_AI_OPERATION_NAME
PROVIDER_NAME = _g.GEN_AI_PROVIDER_NAME
REQUEST_MODEL = _g.GEN_AI_REQUEST_MODEL
REQUEST_TEMPERATURE = _g.GEN_AI_REQUEST_TEMPERATURE
REQUEST_TOP_P = _g.GEN_AI_REQUEST_TOP_P
REQUEST_MAX_TOKENS = _g.GEN_AI_REQUEST_MAX_TOKENS
REQUEST_FREQUENCY_PENALTY = _g.GEN_AI_REQUEST_FREQUENCY_PENALTY
REQUEST_PRESENCE_PENALTY = _g.GEN_AI_REQUEST_PRESENCE_PENALTY
REQUEST_STOP_SEQUENCES = _g.GEN_AI_REQUEST_STOP_SEQUENCES
REQUEST_SEED = _g.GEN_AI_REQUEST_SEED
REQUEST_CHOICE_COUNT = _g.GEN_AI_REQUEST_CHOICE_COUNT
REQUEST_STREAM = _pick(_g, "GEN_AI_REQUEST_STREAM", "gen_ai.request.stream")
REQUEST_ENCODING_FORMATS = _g.GEN_AI_REQUEST_ENCODING_FORMATS
OUTPUT_TYPE = _g.GEN_AI_OUTPUT_TYPE
EMBEDDINGS_DIMENSION_COUNT = _pick(_g, "GEN_AI_EMBEDDINGS_DIMENSION_COUNT", "gen_ai.embeddings.dimension.count")
CONVERSATION_ID = _g.GEN_AI_CONVERSATION_ID
RESPONSE_ID = _g.GEN_AI_RESPONSE_ID
RESPONSE_MODEL = _g.GEN_AI_RESPONSE_MODEL
RESPONSE_FINISH_REASONS = _g.GEN_AI_RESPONSE_FINISH_REASONS
RESPONSE_TIME_TO_FIRST_CHUNK = _pick(_g, "GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK", "gen_ai.response.time_to_first_chunk")
USAGE_INPUT_TOKENS = _g.GEN_AI_USAGE_INPUT_TOKENS
USAGE_OUTPUT_TOKENS = _g.GEN_AI_USAGE_OUTPUT_TOKENS
USAGE_CACHE_READ_INPUT_TOKENS = _pick(
    _g, "GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS", "gen_ai.usage.cache_read.input_tokens"
)
USAGE_REASONING_OUTPUT_TOKENS = _pick(
    _g, "GEN_AI_USAGE_REASONING_OUTPUT_TOKENS", "gen_ai.usage.reasoning.output_tokens"
)
INPUT_MESSAGES = _g.GEN_AI_INPUT_MESSAGES
OUTPUT_MESSAGES = _g.GEN_AI_OUTPUT_MESSAGES
SYSTEM_INSTRUCTIONS = _g.GEN_AI_SYSTEM_INSTRUCTIONS
TOOL_DEFINITIONS = _pick(_g, "GEN_AI_TOOL_DEFINITIONS", "gen_ai.tool.definitions")
TOKEN_TYPE = _g.GEN_AI_TOKEN_TYPE
SERVER_ADDRESS = _s.SERVER_ADDRESS
SERVER_PORT = _s.SERVER_PORT
ERROR_TYPE = _e.ERROR_TYPE
# Retries inside one logical call: how many times the request was resent (HTTP semconv).
HTTP_REQUEST_RESEND_COUNT = _h.HTTP_REQUEST_RESEND_COUNT
HTTP_RESPONSE_STATUS_CODE = _h.HTTP_RESPONSE_STATUS_CODE

# Not (yet) in the semantic conventions: ours, under the openai.* namespace.
OPENAI_REQUEST_REASONING_EFFORT = "openai.request.reasoning_effort"
OPENAI_REQUEST_PREVIOUS_RESPONSE_ID = "openai.request.previous_response_id"

# Values
OP_CHAT = _g.GenAiOperationNameValues.CHAT.value
OP_TEXT_COMPLETION = _g.GenAiOperationNameValues.TEXT_COMPLETION.value
OP_EMBEDDINGS = _g.GenAiOperationNameValues.EMBEDDINGS.value
PROVIDER_OPENAI = _g.GenAiProviderNameValues.OPENAI.value
PROVIDER_AZURE_OPENAI = _g.GenAiProviderNameValues.AZURE_AI_OPENAI.value
OUTPUT_TEXT = _g.GenAiOutputTypeValues.TEXT.value
OUTPUT_JSON = _g.GenAiOutputTypeValues.JSON.value
TOKEN_INPUT = _g.GenAiTokenTypeValues.INPUT.value
TOKEN_OUTPUT = _g.GenAiTokenTypeValues.OUTPUT.value

# Metrics
METRIC_OPERATION_DURATION = _m.GEN_AI_CLIENT_OPERATION_DURATION
METRIC_TOKEN_USAGE = _m.GEN_AI_CLIENT_TOKEN_USAGE
METRIC_TIME_TO_FIRST_CHUNK = _pick(
    _m, "GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK", "gen_ai.client.operation.time_to_first_chunk"
)
METRIC_TIME_PER_OUTPUT_CHUNK = _pick(
    _m, "GEN_AI_CLIENT_OPERATION_TIME_PER_OUTPUT_CHUNK", "gen_ai.client.operation.time_per_output_chunk"
)

# Span event, one per retry (ours): attributes http.request.resend_count and, when the
# retry follows an HTTP error, http.response.status_code.
EVENT_RETRY = "openai.retry"

# Event emitted in EVENT_ONLY / SPAN_AND_EVENT content modes (semconv event name).
EVENT_OPERATION_DETAILS = "gen_ai.client.inference.operation.details"

# Responses API: value of ``openai.api.type`` (semconv ``OpenaiApiTypeValues.RESPONSES``).
try:
    from opentelemetry.semconv._incubating.attributes.openai_attributes import OpenaiApiTypeValues as _ApiType

    API_TYPE_RESPONSES: str = _ApiType.RESPONSES.value
    API_TYPE_CHAT_COMPLETIONS: str = _ApiType.CHAT_COMPLETIONS.value
except ImportError:  # pragma: no cover - older semantic-conventions
    API_TYPE_RESPONSES = "responses"
    API_TYPE_CHAT_COMPLETIONS = "chat_completions"

__all__ = [name for name in dir() if name.isupper()]
