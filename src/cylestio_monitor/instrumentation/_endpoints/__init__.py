"""URL path -> endpoint handler. A path not in the table is not traced at all."""

from __future__ import annotations

from typing import Dict

from ._base import Endpoint
from .chat import ChatEndpoint
from .completions import CompletionsEndpoint
from .embeddings import EmbeddingsEndpoint
from .responses import ResponsesEndpoint

__all__ = ["ENDPOINTS", "Endpoint"]

ENDPOINTS: Dict[str, Endpoint] = {
    "/chat/completions": ChatEndpoint(),
    "/completions": CompletionsEndpoint(),
    "/embeddings": EmbeddingsEndpoint(),
    "/responses": ResponsesEndpoint(),
}
