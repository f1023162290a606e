"""Shared fixtures: real SDK providers with in-memory exporters, and the instrumentor.

Other test folders import what they need from here or from ``tests.cassettes`` /
``tests.replay``; fixtures defined here are visible to every test.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cylestio_monitor.instrumentation import OpenAIInstrumentor


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(span_exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    yield provider
    provider.shutdown()


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(metric_reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[metric_reader])
    yield provider
    provider.shutdown()


@pytest.fixture
def capture_content() -> str:
    """Override in a test module (or parametrize) to change the content mode."""
    return "NO_CONTENT"


@pytest.fixture
def instrument(tracer_provider, meter_provider, capture_content) -> Iterator[OpenAIInstrumentor]:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider, meter_provider=meter_provider, capture_content=capture_content
    )
    yield instrumentor
    instrumentor.uninstrument()


# -- vcrpy hygiene ------------------------------------------------------------------------------
# vcrpy replays cassettes by patching HTTP classes process-wide (http.client, urllib3, httpx,
# httpx2) while a cassette is open, and restores what it found on exit. Should a patch ever
# outlive its cassette (two cassettes open at once in different threads or tasks restore each
# other's stubs), every later test that talks real HTTP (the OTLP exporters to the in-process
# receiver) would be answered by a closed cassette. Each test therefore ends with these
# attributes as they were before any cassette, and a warning names the test that left one behind.
_VCR_TARGETS: List[Tuple[str, str, Tuple[str, ...]]] = [
    ("http.client", "", ("HTTPConnection", "HTTPSConnection")),
    ("urllib3.connection", "", ("HTTPConnection", "HTTPSConnection", "VerifiedHTTPSConnection")),
    ("urllib3.connectionpool", "", ("is_connection_dropped",)),
    ("urllib3.connectionpool", "HTTPConnectionPool", ("ConnectionCls", "_get_conn", "_new_conn")),
    ("urllib3.connectionpool", "HTTPSConnectionPool", ("ConnectionCls", "_get_conn", "_new_conn")),
    ("httpx", "HTTPTransport", ("handle_request",)),
    ("httpx", "AsyncHTTPTransport", ("handle_async_request",)),
    ("httpx2", "HTTPTransport", ("handle_request",)),
    ("httpx2", "AsyncHTTPTransport", ("handle_async_request",)),
]
_MISSING = object()


def _vcr_snapshot() -> Dict[Tuple[Any, str], Any]:
    snap: Dict[Tuple[Any, str], Any] = {}
    for module_name, owner, names in _VCR_TARGETS:
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError:
            continue
        if owner:
            obj = getattr(obj, owner, None)
            if obj is None:
                continue
        for name in names:  # the object's own attribute (mock.patch deletes it again if it was inherited)
            snap[(obj, name)] = vars(obj).get(name, _MISSING)
    return snap


_VCR_ORIGINALS = _vcr_snapshot()  # taken at collection, before any cassette is open


@pytest.fixture(autouse=True)
def _no_vcr_patch_outlives_its_test(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    leaked = []
    for (obj, name), original in _VCR_ORIGINALS.items():
        if vars(obj).get(name, _MISSING) is not original:
            leaked.append(f"{getattr(obj, '__name__', obj)}.{name}")
            if original is _MISSING:
                delattr(obj, name)
            else:
                setattr(obj, name, original)
    if leaked:
        warnings.warn(f"{request.node.nodeid} left vcrpy patches in place (restored): {', '.join(leaked)}",
                      stacklevel=1)
