"""Stream proxies: still an ``openai.Stream`` / ``AsyncStream`` to the user, ending the span once.

A proxy is its own iterator: each ``__next__`` forwards to the SDK stream and hands the
chunk to the invocation (one call, no allocation). The span ends on whichever comes first:
exhaustion, an error from the stream, ``close()``, ``with`` exit, the HTTP response being
closed by someone else (the ``.stream()`` helpers close the response directly), or the
proxy being garbage-collected.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

import wrapt

from ._invocation import Invocation

__all__ = ["AsyncStreamProxy", "SyncStreamProxy", "wrap_stream"]

_log = logging.getLogger("cylestio_monitor.instrumentation")


def wrap_stream(stream: Any, invocation: Invocation) -> Any:
    """Return a proxy for an SDK stream, or the stream itself if it is not one we know."""
    try:
        invocation.begin_stream()
        if hasattr(stream, "__anext__"):
            proxy: Any = AsyncStreamProxy(stream, invocation)
        elif hasattr(stream, "__next__"):
            proxy = SyncStreamProxy(stream, invocation)
        else:
            invocation.stop(None)
            return stream
        _hook_response_close(stream, invocation)
        invocation.proxy = proxy
        return proxy
    except Exception:
        _log.debug("could not wrap the stream", exc_info=True)
        invocation.stop(None)
        return stream


def _hook_response_close(stream: Any, invocation: Invocation) -> None:
    """End the span when the HTTP response is closed from outside our proxy."""
    response = getattr(stream, "response", None)
    if response is None:
        return
    close = getattr(response, "close", None)
    if close is not None:

        def closing() -> None:
            try:
                close()
            finally:
                invocation.stream_closed(None)

        response.close = closing
    aclose = getattr(response, "aclose", None)
    if aclose is not None:

        async def aclosing() -> None:
            try:
                await aclose()
            finally:
                invocation.stream_closed(None)

        response.aclose = aclosing


class SyncStreamProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, wrapped: Any, invocation: Invocation) -> None:
        super().__init__(wrapped)
        self._self_invocation = invocation

    def __iter__(self) -> SyncStreamProxy:
        return self

    def __next__(self) -> Any:
        invocation = self._self_invocation
        invocation.in_next = True
        try:
            chunk = self.__wrapped__.__next__()
        except StopIteration:
            invocation.in_next = False
            invocation.stream_done()
            raise
        except BaseException as exc:
            invocation.in_next = False
            invocation.fail(exc)
            raise
        invocation.in_next = False
        invocation.on_chunk(chunk)
        return chunk

    def __enter__(self) -> SyncStreamProxy:
        return self

    def __exit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> Any:
        if exc is not None:  # before the SDK closes the response (whose close hook ends the span as OK)
            self._self_invocation.stream_closed(exc)
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_invocation.stream_closed(exc)

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_invocation.stream_closed(None)

    def __del__(self) -> None:
        try:
            self._self_invocation.stream_closed(None)
        except Exception:
            pass


class AsyncStreamProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, wrapped: Any, invocation: Invocation) -> None:
        super().__init__(wrapped)
        self._self_invocation = invocation

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        invocation = self._self_invocation
        invocation.in_next = True
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            invocation.in_next = False
            invocation.stream_done()
            raise
        except BaseException as exc:
            invocation.in_next = False
            invocation.fail(exc)
            raise
        invocation.in_next = False
        invocation.on_chunk(chunk)
        return chunk

    async def __aenter__(self) -> AsyncStreamProxy:
        return self

    async def __aexit__(self, exc_type: Any, exc: Optional[BaseException], tb: Any) -> Any:
        if exc is not None:  # before the SDK closes the response (whose close hook ends the span as OK)
            self._self_invocation.stream_closed(exc)
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_invocation.stream_closed(exc)

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_invocation.stream_closed(None)

    def __del__(self) -> None:
        try:
            self._self_invocation.stream_closed(None)
        except Exception:
            pass
