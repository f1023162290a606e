"""Lifecycle: uninstrument restores the client exactly, instrument twice is a no-op,
suppress_instrumentation is honoured, we live beside the official OpenAI instrumentor,
and a sync call inside a running event loop starts no thread."""

from __future__ import annotations

import importlib
import sys
import threading
from pathlib import Path

import openai._base_client as base
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation

from cylestio_monitor.instrumentation import OpenAIInstrumentor

from . import _traffic as t

PATCHED = [(base.SyncAPIClient, "request"), (base.AsyncAPIClient, "request"),
           (base.SyncAPIClient, "_sleep_for_retry"), (base.AsyncAPIClient, "_sleep_for_retry")]

CASES = {"plain": t.PLAIN, "stream": t.STREAM}


def _official(monkeypatch: pytest.MonkeyPatch):
    """The official instrumentor (opentelemetry-instrumentation-genai-openai). It is not in the
    shared venv (its `openai` entry point would leak into opentelemetry-instrument runs), but in
    .venv-bench (pyproject extra `bench`): borrowed from there, at the end of sys.path, for this test."""
    name = "opentelemetry.instrumentation.genai.openai"
    try:
        return importlib.import_module(name)
    except ImportError:
        pass
    bench = Path(__file__).parents[2] / ".venv-bench" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site = bench / "site-packages"
    if not (site / "opentelemetry" / "instrumentation" / "genai" / "openai").is_dir():
        pytest.skip("opentelemetry-instrumentation-genai-openai not installed (pip install -e .[bench])")
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    importlib.invalidate_caches()
    return importlib.import_module(name)


def _originals() -> list:
    return [cls.__dict__.get(name) for cls, name in PATCHED]


async def _one_call(is_async: bool, item=t.PLAIN):
    got = await t.outcome(t.client(t.Server(t.from_interaction(item)), is_async), is_async, **t.kwargs_of(item))
    assert got[0] == "return", got
    return got


def test_uninstrument_restores_exactly(tracer_provider, meter_provider):
    before = _originals()
    assert all(f is not None for f in before[:2])
    instrumentor = OpenAIInstrumentor()
    for _ in range(3):  # and again: nothing accumulates
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        assert all(now is not orig for now, orig in zip(_originals(), before) if orig is not None)
        instrumentor.uninstrument()
        assert all(now is orig for now, orig in zip(_originals(), before))
        assert not hasattr(base.SyncAPIClient.request, "__wrapped__")


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("case", list(CASES))
async def test_instrument_twice_is_a_no_op(case, is_async, tracer_provider, meter_provider, ended):
    first = OpenAIInstrumentor()
    first.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    wrapped_once = _originals()
    try:
        first.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        assert _originals() == wrapped_once
        await _one_call(is_async, CASES[case])
    finally:
        first.uninstrument()
    assert len(ended.ours()) == 1


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("case", list(CASES))
async def test_suppress_instrumentation(case, is_async, instrument, ended):
    with suppress_instrumentation():
        got = await _one_call(is_async, CASES[case])
    assert ended.ours() == []
    assert await _one_call(is_async, CASES[case]) == got  # and traced again outside
    assert len(ended.ours()) == 1


@pytest.mark.parametrize("ours_first", [True, False], ids=["ours_first", "official_first"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("case", list(CASES))
async def test_beside_the_official_instrumentor(case, ours_first, is_async, tracer_provider, meter_provider,
                                                ended, monkeypatch):
    official_module = _official(monkeypatch)
    want = await _one_call(is_async, CASES[case])  # uninstrumented
    ours, official = OpenAIInstrumentor(), official_module.OpenAIInstrumentor()
    steps = [lambda: ours.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider,
                                     capture_content="SPAN_ONLY"),
             lambda: official.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)]
    for step in steps if ours_first else steps[::-1]:
        step()
    try:
        got = await _one_call(is_async, CASES[case])
    finally:
        official.uninstrument()
        ours.uninstrument()
    assert t.same(got, want)
    assert len(ended.ours()) == 1  # no double span from ours
    others = [s for s in ended.spans if s not in ended.ours()]
    assert len(others) == 1  # the official one's own span: both ran


@pytest.mark.parametrize("case", list(CASES))
async def test_sync_call_in_running_loop_starts_no_thread(case, instrument, ended):
    before = {th.ident for th in threading.enumerate()}
    count = threading.active_count()
    for _ in range(20):
        await _one_call(False, CASES[case])
    assert threading.active_count() == count
    assert {th.ident for th in threading.enumerate()} == before
    assert len(ended.ours()) == 20
