"""A Lambda-style handler: set up once per cold start, flush at the end of every invocation.

A serverless runtime may freeze the process as soon as the handler returns, so spans still
queued in the batch processor would be lost (or sent minutes later). ``flush_monitoring()``
exports them before returning, within a bounded time, without shutting anything down.

    python examples/serverless_handler.py          # simulates three invocations locally

In a real function, set OTEL_EXPORTER_OTLP_ENDPOINT to your collector (for example a
collector extension layer on localhost:4317).
"""

import json
from typing import Any, Dict

import openai
from _local_server import openai_client_kwargs

from cylestio_monitor import flush_monitoring, start_monitoring

# Cold start: runs once per execution environment.
start_monitoring(agent_id="support-lambda", flush_timeout=2.0)
client = openai.OpenAI(**openai_client_kwargs())


def handler(event: Dict[str, Any], context: Any = None) -> Dict[str, Any]:
    try:
        completion = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": event.get("question", "Hello")}],
        )
        answer = completion.choices[0].message.content
        return {"statusCode": 200, "body": json.dumps({"answer": answer})}
    finally:
        flushed = flush_monitoring()  # bounded by flush_timeout
        print(f"invocation done, telemetry flushed={flushed}")


if __name__ == "__main__":
    for q in ("What is a span?", "What is a trace?", "What is a metric?"):
        result = handler({"question": q})
        print(result["statusCode"], json.loads(result["body"])["answer"][:40] + "...")
