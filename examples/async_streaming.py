"""Async + streaming: an AsyncOpenAI chat stream and a Responses API stream, monitored.

    python examples/async_streaming.py

Offline by default (local server on 127.0.0.1); real API when OPENAI_API_KEY is set.
Each stream is one span, open until the stream ends; token usage comes from the final
chunk (``stream_options={"include_usage": True}``).
"""

import asyncio

import openai
from _local_server import openai_client_kwargs

from cylestio_monitor import start_monitoring, stop_monitoring


async def main() -> None:
    client = openai.AsyncOpenAI(**openai_client_kwargs())

    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Explain span processors in one paragraph."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    print("chat stream: ", end="", flush=True)
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            print(chunk.choices[0].delta.content, end="", flush=True)
    print()

    async with client.responses.stream(model="gpt-4o-mini", input="And what is a trace?") as events:
        print("responses stream: ", end="", flush=True)
        async for event in events:
            if event.type == "response.output_text.delta":
                print(event.delta, end="", flush=True)
        final = await events.get_final_response()
    print(f"\n(response {final.id}, {final.usage.output_tokens} output tokens)")

    # Concurrent calls: each gets its own span.
    results = await asyncio.gather(*[
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": f"Fact #{i}"}])
        for i in range(3)
    ])
    print("concurrent calls:", len(results))


if __name__ == "__main__":
    start_monitoring(agent_id="async-streaming-agent")
    try:
        asyncio.run(main())
    finally:
        stop_monitoring()
