"""The names we write when an older opentelemetry-semantic-conventions lacks a constant.

``_semconv`` takes every name from the installed semantic-conventions release and falls back to
a literal only for constants added after the oldest release we support (0.61b0). These tests
pin each literal to the installed release's constant, so a fallback cannot drift from the
convention; CI's oldest-dependencies leg then imports the module without those constants.
"""

from __future__ import annotations

import importlib

import pytest

from cylestio_monitor.instrumentation import _semconv as sc

NEWEST = importlib.import_module("opentelemetry.semconv._incubating.attributes.gen_ai_attributes")
HAS_NEW_NAMES = hasattr(NEWEST, "GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK")


def test_there_are_fallbacks_to_check() -> None:
    assert len(sc.FALLBACKS) >= 10


@pytest.mark.skipif(not HAS_NEW_NAMES, reason="this semantic-conventions release predates the names")
@pytest.mark.parametrize("where", sorted(sc.FALLBACKS), ids=lambda w: w[1])
def test_fallback_equals_the_installed_constant(where: tuple) -> None:
    module_name, constant = where
    if "." not in module_name:
        module_name = f"opentelemetry.semconv._incubating.attributes.{module_name}"
    module = importlib.import_module(module_name)
    assert getattr(module, constant) == sc.FALLBACKS[where]


def test_every_name_is_a_dotted_string() -> None:
    names = {k: v for k, v in vars(sc).items() if k.isupper() and isinstance(v, str)}
    assert names["REQUEST_STREAM"] == "gen_ai.request.stream"
    assert names["METRIC_TIME_PER_OUTPUT_CHUNK"] == "gen_ai.client.operation.time_per_output_chunk"
    assert all(isinstance(v, str) and v for v in names.values())
