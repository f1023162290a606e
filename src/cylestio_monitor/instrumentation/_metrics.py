"""The GenAI client metrics (semconv names, units and bucket boundaries)."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from opentelemetry.metrics import Histogram, Meter

from . import _semconv as sc

__all__ = ["Instruments"]

_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
_TOKEN_BUCKETS = [
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
]
# semconv: time_to_first_chunk and time_per_output_chunk use the duration boundaries too
_CHUNK_BUCKETS = _DURATION_BUCKETS


class Instruments:
    """The four histograms, created once per ``instrument()``."""

    __slots__ = ("duration", "time_per_output_chunk", "time_to_first_chunk", "token_usage")

    def __init__(self, meter: Meter) -> None:
        self.duration: Histogram = meter.create_histogram(
            sc.METRIC_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.token_usage: Histogram = meter.create_histogram(
            sc.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self.time_to_first_chunk: Histogram = meter.create_histogram(
            sc.METRIC_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.time_per_output_chunk: Histogram = meter.create_histogram(
            sc.METRIC_TIME_PER_OUTPUT_CHUNK,
            unit="s",
            description="Time per output chunk, recorded for each chunk received after the first one.",
            explicit_bucket_boundaries_advisory=_CHUNK_BUCKETS,
        )

    def record(
        self,
        attributes: Mapping[str, Any],
        duration: float,
        input_tokens: Optional[int],
        output_tokens: Optional[int],
        time_to_first_chunk: Optional[float] = None,
        chunk_gaps: Sequence[float] = (),
    ) -> None:
        self.duration.record(duration, attributes)
        if input_tokens is not None:
            self.token_usage.record(input_tokens, {**attributes, sc.TOKEN_TYPE: sc.TOKEN_INPUT})
        if output_tokens is not None:
            self.token_usage.record(output_tokens, {**attributes, sc.TOKEN_TYPE: sc.TOKEN_OUTPUT})
        if time_to_first_chunk is not None:
            self.time_to_first_chunk.record(time_to_first_chunk, attributes)
        # one point per chunk after the first (semconv), recorded when the stream ends, so the
        # response model is known; the SDK's histogram costs ~5-10 us a point, paid at that
        # moment (instrument(per_chunk_metrics=False) turns this one metric off)
        record = self.time_per_output_chunk.record
        for gap in chunk_gaps:
            record(gap, attributes)
