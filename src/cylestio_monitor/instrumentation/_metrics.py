"""The GenAI client metrics (semconv names, units and bucket boundaries)."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from opentelemetry.metrics import Histogram, Meter

from . import _semconv as sc

__all__ = ["Instruments"]

_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
_TOKEN_BUCKETS = [
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
]
_CHUNK_BUCKETS = [0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5]


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
            description="Time between consecutive chunks of a streamed response, after the first.",
            explicit_bucket_boundaries_advisory=_CHUNK_BUCKETS,
        )

    def record(
        self,
        attributes: Mapping[str, Any],
        duration: float,
        input_tokens: Optional[int],
        output_tokens: Optional[int],
        time_to_first_chunk: Optional[float] = None,
        chunk_count: int = 0,
        stream_time: float = 0.0,
    ) -> None:
        self.duration.record(duration, attributes)
        if input_tokens is not None:
            self.token_usage.record(input_tokens, {**attributes, sc.TOKEN_TYPE: sc.TOKEN_INPUT})
        if output_tokens is not None:
            self.token_usage.record(output_tokens, {**attributes, sc.TOKEN_TYPE: sc.TOKEN_OUTPUT})
        if time_to_first_chunk is not None:
            self.time_to_first_chunk.record(time_to_first_chunk, attributes)
            if chunk_count > 1:
                # mean gap between chunks after the first: one data point per stream, not per chunk
                per_chunk = (stream_time - time_to_first_chunk) / (chunk_count - 1)
                self.time_per_output_chunk.record(max(per_chunk, 0.0), attributes)
