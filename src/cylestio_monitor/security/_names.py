"""Every attribute, event and metric name of the security layer (one namespace: ``cylestio.security``)."""

from __future__ import annotations

NS = "cylestio.security"

# span event, one per finding
FINDING_EVENT = f"{NS}.finding"
CATEGORY = f"{NS}.category"
TYPE = f"{NS}.type"
RULE_ID = f"{NS}.rule_id"
SEVERITY = f"{NS}.severity"
LOCATION = f"{NS}.location"  # input | output | system_instructions | tool_definitions | event
MESSAGE_INDEX = f"{NS}.message_index"
PART_INDEX = f"{NS}.part_index"
FIELD = f"{NS}.field"  # content | arguments | response | ... (key of the scanned string)
START = f"{NS}.start"
END = f"{NS}.end"
MASKED = f"{NS}.masked"

# span summary attributes
SCANNED = f"{NS}.scanned"
FINDINGS_COUNT = f"{NS}.findings.count"
HIGHEST_SEVERITY = f"{NS}.findings.highest_severity"
CATEGORIES = f"{NS}.findings.categories"
RULE_IDS = f"{NS}.findings.rule_ids"
EVENTS_DROPPED = f"{NS}.findings.events_dropped"
REDACTED_COUNT = f"{NS}.redactions.count"
REDACTED_TYPES = f"{NS}.redactions.types"
TRUNCATED = f"{NS}.scan.truncated"
SCAN_FAILED = f"{NS}.scan.failed"  # content could not be scanned, so it was not exported

# metric
FINDINGS_METRIC = f"{NS}.findings"

# GenAI content attributes (semantic conventions) that are scanned and redacted
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
TOOL_DEFINITIONS = "gen_ai.tool.definitions"
CONTENT_ATTRIBUTES = {
    INPUT_MESSAGES: "input",
    OUTPUT_MESSAGES: "output",
    SYSTEM_INSTRUCTIONS: "system_instructions",
    TOOL_DEFINITIONS: "tool_definitions",
}
# older / other instrumentations' content keys found in span events
EVENT_CONTENT_KEYS = frozenset(
    {*CONTENT_ATTRIBUTES, "gen_ai.prompt", "gen_ai.completion", "content", "message", "body", "arguments"}
)
