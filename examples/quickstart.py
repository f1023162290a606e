"""Quickstart: monitor an OpenAI app with one call.

    pip install -e ".[instruments]"      # or: pip install "cylestio-monitor[instruments]"
    python examples/quickstart.py

Offline by default: the example starts a small OpenAI-compatible server on 127.0.0.1
(examples/_local_server.py). Set OPENAI_API_KEY to call the real API instead.

With no endpoint configured, what was recorded is printed to stderr (and written to the
JSON Lines file given as ``log_file``): nothing is sent anywhere. Set
OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 to send it to a collector instead.
"""

import os
import tempfile

from _local_server import openai_client_kwargs

from cylestio_monitor import start_monitoring, stop_monitoring

log_file = os.path.join(tempfile.gettempdir(), "cylestio-quickstart.jsonl")

# 1. Start monitoring before (or after) importing openai.
start_monitoring(
    agent_id="quickstart-agent",
    config={"debug_level": "WARNING", "development_mode": False, "log_file": log_file},
)

import openai  # noqa: E402

client = openai.OpenAI(**openai_client_kwargs())

# 2. Use openai as usual. The user pasted a credential into the prompt by mistake:
#    the security layer reports it as a finding and redacts it in what is recorded.
response = client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "What is OpenTelemetry? My config has "
                                    "OPENAI_API_KEY=sk-proj-Xq7Lm2Pz9Rt4Vb8Nc1Kd6Wf3Hj5Gs0Ya2Ue, is that ok?"},
    ],
    temperature=0.2,
)
print("assistant:", response.choices[0].message.content)
print("tokens:", response.usage.prompt_tokens, "in,", response.usage.completion_tokens, "out")

# 3. Flush and shut down (also done at exit).
stop_monitoring()
print(f"recorded spans and metrics also written to {log_file}")
