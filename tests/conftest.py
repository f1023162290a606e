"""Shared fixtures: real SDK providers with in-memory exporters, and the instrumentor.

Other test folders import what they need from here or from ``tests.cassettes`` /
``tests.replay``; fixtures defined here are visible to every test.
"""

from __future__ import annotations

from typing import Iterator

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
