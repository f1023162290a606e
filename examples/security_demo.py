"""Security demo: a planted API key is reported as a finding and redacted before export.

    python examples/security_demo.py

The prompt carries a (fake) OpenAI project key and an e-mail address. The security
processor sits in front of every exporter: it scans the span's GenAI content, adds each
finding as a span event (rule, severity and a masked value, never the secret), and replaces
the secret in the recorded messages. The demo then reads back the exported JSON Lines file
and proves the key never reached it.
"""

import json
import os
import tempfile

import openai
from _local_server import openai_client_kwargs

from cylestio_monitor import start_monitoring, stop_monitoring

PLANTED = "sk-proj-Xq7Lm2Pz9Rt4Vb8Nc1Kd6Wf3Hj5Gs0Ya2Ue"

log_file = os.path.join(tempfile.mkdtemp(prefix="cylestio-demo-"), "spans.jsonl")
start_monitoring(agent_id="security-demo", log_file=log_file, exporter="console,file")

client = openai.OpenAI(**openai_client_kwargs())
client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": f"Deploy with key {PLANTED} and mail ops@example.com when done."}],
)
stop_monitoring()

with open(log_file, encoding="utf-8") as fh:
    exported = fh.read()
spans = [json.loads(line) for line in exported.splitlines() if '"type": "span"' in line]

print("\n== what was exported ==")
for span in spans:
    print(f"span {span['name']!r}")
    for event in span.get("events", []):
        attrs = ", ".join(f"{k}={v}" for k, v in event.get("attributes", {}).items())
        print(f"  finding event {event['name']}: {attrs}")
    messages = span.get("attributes", {}).get("gen_ai.input.messages")
    if messages:
        print(f"  recorded input: {messages}")

findings = sum(len(span.get("events", [])) for span in spans)
content_recorded = any("gen_ai.input.messages" in span.get("attributes", {}) for span in spans)
print("\n== check ==")
print(f"findings recorded: {findings}")
print(f"prompt content recorded: {content_recorded}")
print(f"planted key present in export: {PLANTED in exported}")
print("redacted: " + ("yes" if content_recorded and PLANTED not in exported else "NO"))
