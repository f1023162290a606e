"""Cylestio Monitor: OpenTelemetry instrumentation and security scanning for the OpenAI SDK.

Two ways in::

    # 1. one call, for applications
    import cylestio_monitor
    cylestio_monitor.start_monitoring(agent_id="my-agent")
    ...
    cylestio_monitor.stop_monitoring()

    # 2. standard OpenTelemetry, for those who wire their own providers
    from cylestio_monitor import OpenAIInstrumentor, SecurityScanningSpanProcessor
    OpenAIInstrumentor().instrument(tracer_provider=provider)

The public names are imported lazily so that ``import cylestio_monitor`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .instrumentation import OpenAIInstrumentor
    from .monitor import flush_monitoring, start_monitoring, stop_monitoring
    from .security import SecurityScanningSpanProcessor

__all__ = [
    "OpenAIInstrumentor",
    "SecurityScanningSpanProcessor",
    "__version__",
    "flush_monitoring",
    "start_monitoring",
    "stop_monitoring",
]

_LAZY = {
    "OpenAIInstrumentor": ".instrumentation",
    "SecurityScanningSpanProcessor": ".security",
    "flush_monitoring": ".monitor",
    "start_monitoring": ".monitor",
    "stop_monitoring": ".monitor",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
