"""The one hook: the client's ``request`` method, sync and async, dispatching on the URL.

Every resource method of the SDK (``create``, ``parse``, ``.stream()``,
``with_raw_response``, ``with_streaming_response``, beta resources) goes through
``SyncAPIClient.request`` / ``AsyncAPIClient.request`` with ``options.url`` naming the
endpoint. Patching those two class methods covers clients created before
``instrument()`` too, and retries (which happen inside ``request``) stay in one span.
A URL with no handler costs one dictionary look-up.
"""

from __future__ import annotations

import inspect
import logging
import weakref
from contextvars import ContextVar
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import _SUPPRESS_INSTRUMENTATION_KEY, unwrap
from wrapt import wrap_function_wrapper

from .. import _channel
from . import _semconv as sc
from ._endpoints import ENDPOINTS
from ._invocation import Invocation, Settings
from ._streams import wrap_stream

__all__ = ["patch", "unpatch"]

_log = logging.getLogger("cylestio_monitor.instrumentation")

_MODULE = "openai._base_client"
_TARGETS = ("SyncAPIClient.request", "AsyncAPIClient.request")
# Called once per retry inside ``request`` (openai >= 1.43; older releases retry without it).
_RETRY_TARGETS = ("SyncAPIClient._sleep_for_retry", "AsyncAPIClient._sleep_for_retry")
_RAW_HEADER = "X-Stainless-Raw-Response"
_AZURE = frozenset(("AzureOpenAI", "AsyncAzureOpenAI"))


# The invocation whose ``request`` is running in this context (so a retry can be counted).
_current: ContextVar[Optional[Invocation]] = ContextVar("cylestio_invocation", default=None)


def patch(settings: Settings) -> None:
    import openai._base_client as base

    wrap_function_wrapper(_MODULE, _TARGETS[0], _sync_wrapper(settings))
    wrap_function_wrapper(_MODULE, _TARGETS[1], _async_wrapper(settings))
    for target in _RETRY_TARGETS:
        cls, name = target.split(".")
        if hasattr(getattr(base, cls), name):
            wrap_function_wrapper(_MODULE, target, _on_retry)


def unpatch() -> None:
    import openai._base_client as base

    unwrap(base.SyncAPIClient, "request")
    unwrap(base.AsyncAPIClient, "request")
    for target in _RETRY_TARGETS:
        cls, name = target.split(".")
        unwrap(getattr(base, cls), name)


def _on_retry(wrapped: Callable[..., Any], instance: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
    invocation = _current.get()
    if invocation is not None:
        invocation.on_retry(getattr(kwargs.get("response"), "status_code", None))
    return wrapped(*args, **kwargs)


def _options(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
    return args[1] if len(args) > 1 else kwargs.get("options")


def _begin(settings: Settings, instance: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Tuple[Any, Any]:
    """(invocation, options) for a traced call, or (None, options): one dict look-up for the rest."""
    options = _options(args, kwargs)
    endpoint = ENDPOINTS.get(getattr(options, "url", ""))
    if endpoint is None or otel_context.get_value(_SUPPRESS_INSTRUMENTATION_KEY):
        return None, options
    return _start(settings, endpoint, instance, options, bool(kwargs.get("stream"))), options


def _sync_wrapper(settings: Settings) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
        invocation, options = _begin(settings, instance, args, kwargs)
        if invocation is None:
            return wrapped(*args, **kwargs)
        token = _current.set(invocation)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            invocation.fail(exc)
            raise
        finally:
            _current.reset(token)
        return _result(invocation, options, kwargs, result)

    return wrapper


def _async_wrapper(settings: Settings) -> Callable[..., Any]:
    async def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any]
    ) -> Any:
        invocation, options = _begin(settings, instance, args, kwargs)
        if invocation is None:
            return await wrapped(*args, **kwargs)
        token = _current.set(invocation)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            invocation.fail(exc)
            raise
        finally:
            _current.reset(token)
        return _result(invocation, options, kwargs, result)

    return wrapper


def _client_attributes(client: Any, endpoint: Any, stream: bool) -> Dict[str, Any]:
    attrs: Dict[str, Any] = {
        sc.OPERATION_NAME: endpoint.operation,
        sc.PROVIDER_NAME: sc.PROVIDER_AZURE_OPENAI if type(client).__name__ in _AZURE else sc.PROVIDER_OPENAI,
    }
    url = getattr(client, "base_url", None)
    if url is not None:
        host = url.host
        if host:
            attrs[sc.SERVER_ADDRESS] = host
        port = url.port or (443 if url.scheme == "https" else 80 if url.scheme == "http" else None)
        if port:
            attrs[sc.SERVER_PORT] = port
    if endpoint.api_type:
        attrs[sc.OPENAI_API_TYPE] = endpoint.api_type
    if endpoint.streams:
        attrs[sc.REQUEST_STREAM] = stream
    return attrs


def _start(settings: Settings, endpoint: Any, client: Any, options: Any, stream: bool) -> Optional[Invocation]:
    guards = _channel.guards()
    try:
        body = options.json_data
        if not isinstance(body, Mapping):
            body = {}
        extra = getattr(options, "extra_json", None)
        if isinstance(extra, Mapping) and extra:  # extra_body: sent too, so recorded too
            body = {**body, **extra}
        invocation = Invocation(settings, endpoint, body, _client_attributes(client, endpoint, stream), bool(guards))
    except Exception:
        _log.debug("could not start the span; the call goes on untraced", exc_info=True)
        return None
    if guards and invocation.content is not None:
        invocation.content.encoded = None  # a guard may change the objects: the processor compares
        try:
            for guard in guards:
                guard(invocation.content)
        except _channel.RequestBlockedError as exc:  # guard mode: the user asked for this
            invocation.fail(exc)
            raise
        except Exception:
            _log.debug("a request guard failed", exc_info=True)
    return invocation


def _raw_mode(options: Any) -> Optional[str]:
    headers = getattr(options, "headers", None)
    if isinstance(headers, Mapping):
        value = headers.get(_RAW_HEADER)
        return value if isinstance(value, str) else None
    return None


def _result(invocation: Invocation, options: Any, kwargs: Dict[str, Any], result: Any) -> Any:
    """Hand ``result`` back to the user, with the span ended now or handed to a proxy."""
    try:
        raw = _raw_mode(options)
        stream = bool(kwargs.get("stream"))
        if raw is None:
            if stream:
                return wrap_stream(result, invocation)
            invocation.stop(result)
            return result
        if raw == "true" and not stream and not inspect.iscoroutinefunction(getattr(result, "parse", None)):
            # with_raw_response: the body is already read; parsing is cached, the user's
            # own parse() returns the very same object.
            invocation.stop(result.parse())
            return result
        _hook_parse(result, invocation)
        return result
    except Exception:
        _log.debug("could not read the result", exc_info=True)
        invocation.stop(None)
        return result


def _hook_parse(response: Any, invocation: Invocation) -> None:
    """Raw responses the user parses later: end (or stream) the span when they do."""
    parse = response.parse

    def on_parsed(value: Any) -> Any:
        if invocation.proxy is not None:
            return invocation.proxy if value is invocation.proxy.__wrapped__ else value
        if invocation.ended:
            return value
        if hasattr(value, "__next__") or hasattr(value, "__anext__"):
            return wrap_stream(value, invocation)
        invocation.stop(value)
        return value

    if inspect.iscoroutinefunction(parse):

        async def aparse(*args: Any, **kwargs: Any) -> Any:
            return on_parsed(await parse(*args, **kwargs))

        response.parse = aparse
    else:

        def sparse(*args: Any, **kwargs: Any) -> Any:
            return on_parsed(parse(*args, **kwargs))

        response.parse = sparse
    # never parsed (the user read the bytes instead): end when the response is closed or collected
    close = getattr(response, "close", None)
    if close is not None and not inspect.iscoroutinefunction(close):

        def closing(*args: Any, **kwargs: Any) -> Any:
            try:
                return close(*args, **kwargs)
            finally:
                _end_unparsed(invocation)

        response.close = closing
    weakref.finalize(response, _end_unparsed, invocation)


def _end_unparsed(invocation: Invocation) -> None:
    if invocation.proxy is None:
        invocation.stop(None)
