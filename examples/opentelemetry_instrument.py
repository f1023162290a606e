"""Zero-code instrumentation with the stock ``opentelemetry-instrument`` CLI.

This app imports nothing from cylestio_monitor. Run it under the CLI:

    OTEL_PYTHON_CONFIGURATOR=cylestio \
    OTEL_SERVICE_NAME=instrumented-app \
    OTEL_TRACES_EXPORTER=console \
    OTEL_METRICS_EXPORTER=none \
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY \
    opentelemetry-instrument python examples/opentelemetry_instrument.py

For a collector, use OTEL_TRACES_EXPORTER=otlp OTEL_METRICS_EXPORTER=otlp
OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 instead of the console exporter.

* ``opentelemetry_instrumentor`` entry point ``openai`` -> our OpenAIInstrumentor.
* ``opentelemetry_configurator`` entry point ``cylestio`` -> the SDK configurator, with every
  exporter behind ``SecurityScanningSpanProcessor`` (so the planted key below is reported
  as a finding and redacted before the console exporter prints the span).
"""

import openai
from _local_server import openai_client_kwargs

client = openai.OpenAI(**openai_client_kwargs())
reply = client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "Is sk-proj-Xq7Lm2Pz9Rt4Vb8Nc1Kd6Wf3Hj5Gs0Ya2Ue a valid key format?"}],
)
print("assistant:", reply.choices[0].message.content)
