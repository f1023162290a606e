"""Concurrency: 64 threads and 1,000 asyncio tasks, streamed and non-streamed calls mixed,
through one shared client each: every span has the right parent, its own content, no
cross-talk, none lost.

The mock server answers each request with text derived from its prompt (``task-N`` ->
``answer-N``), streamed in several chunks when asked, so each span can be checked against
the call that made it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, Dict, List

import httpx2
import pytest
from opentelemetry import trace

from cylestio_monitor.instrumentation import _semconv as sc

from . import _traffic as t

THREADS, CALLS_PER_THREAD, TASKS = 64, 6, 1000


@pytest.fixture
def capture_content() -> str:
    return "SPAN_ONLY"


def _echo(request: httpx2.Request) -> httpx2.Response:
    body = json.loads(request.content)
    task = body["messages"][-1]["content"]
    answer = task.replace("task", "answer")
    base = {"id": f"chatcmpl-{task}", "created": 1, "model": "gpt-4o-mini"}
    if not body.get("stream"):
        return t.response(200, {**base, "object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}})
    pieces = [answer[i:i + 3] for i in range(0, len(answer), 3)]
    events = [{**base, "object": "chat.completion.chunk",
               "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in pieces]
    events.append({**base, "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events.append({**base, "object": "chat.completion.chunk", "choices": [],
                   "usage": {"prompt_tokens": 3, "completion_tokens": len(pieces), "total_tokens": 9}})
    return t.response(200, t.sse_body(events), sse=True)


def _check(spans: List[Any], parents: Dict[str, int], n: int) -> None:
    ours = [s for s in spans if s.instrumentation_scope.name.startswith("cylestio_monitor")]
    assert len(ours) == n, "lost or extra spans"
    seen = set()
    for span in ours:
        task = json.loads(span.attributes[sc.INPUT_MESSAGES])[0]["parts"][0]["content"]
        output = json.loads(span.attributes[sc.OUTPUT_MESSAGES])[0]["parts"][0]["content"]
        assert output == task.replace("task", "answer"), (task, output)  # no cross-talk
        assert span.attributes[sc.RESPONSE_ID] == f"chatcmpl-{task}"
        assert span.parent is not None and span.parent.span_id == parents[task], task
        assert span.context.trace_id == span.parent.trace_id
        assert tuple(span.attributes[sc.RESPONSE_FINISH_REASONS]) == ("stop",)
        seen.add(task)
    assert len(seen) == n


def test_threads(instrument, tracer_provider, ended):
    tracer = tracer_provider.get_tracer("app")
    client = t.client(_echo, is_async=False)
    parents: Dict[str, int] = {}
    errors: List[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(CALLS_PER_THREAD):
                task = f"task-{worker}-{i}"
                with tracer.start_as_current_span(f"parent {task}") as parent:
                    parents[task] = parent.get_span_context().span_id
                    messages = [{"role": "user", "content": task}]
                    if (worker + i) % 2:
                        text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
                            model="gpt-4o-mini", messages=messages, stream=True) if c.choices)
                    else:
                        text = client.chat.completions.create(model="gpt-4o-mini", messages=messages) \
                            .choices[0].message.content
                    assert text == task.replace("task", "answer")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors, errors[:3]
    _check(ended.spans, parents, THREADS * CALLS_PER_THREAD)


async def test_asyncio_tasks(instrument, tracer_provider, ended):
    tracer = tracer_provider.get_tracer("app")
    client = t.client(_echo, is_async=True)
    parents: Dict[str, int] = {}

    async def work(n: int) -> None:
        task = f"task-{n}"
        with tracer.start_as_current_span(f"parent {task}") as parent:
            parents[task] = parent.get_span_context().span_id
            await asyncio.sleep(0)
            messages = [{"role": "user", "content": task}]
            if n % 2:
                stream = await client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True,
                                                              stream_options={"include_usage": True})
                pieces = []
                async for chunk in stream:
                    pieces.extend(c.delta.content or "" for c in chunk.choices)
                    await asyncio.sleep(0)  # interleave with the other tasks mid-stream
                text = "".join(pieces)
            else:
                text = (await client.chat.completions.create(model="gpt-4o-mini", messages=messages)) \
                    .choices[0].message.content
            assert text == task.replace("task", "answer")
            assert trace.get_current_span() is parent  # our proxies leave the caller's context alone

    await asyncio.gather(*(work(n) for n in range(TASKS)))
    _check(ended.spans, parents, TASKS)
