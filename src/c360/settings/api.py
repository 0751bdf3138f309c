"""``api:`` in c360.yaml: the HTTP API and console (``c360 serve``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from c360.settings.base import Block


class ApiConfig(Block):
    """The HTTP API and console (`c360 serve`)."""

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(8360, ge=1, le=65535, description="Port to listen on.")
    workers: int | Literal["auto"] = Field(
        "auto",
        description="uvicorn worker processes for `c360 serve` (a number, or 'auto': one per "
        "CPU core); `--workers` overrides it.",
    )
    shutdown_timeout_seconds: int = Field(
        10,
        ge=1,
        description="On SIGTERM or Ctrl-C, how long a worker waits for requests in flight and "
        "open connections to finish before it closes them and exits.",
    )
    rate_limit_per_second: float = Field(
        50.0, gt=0, description="Average requests per second allowed per token (or client IP)."
    )
    rate_limit_burst: int = Field(
        100, ge=1, description="Requests a caller may send at once before the rate applies."
    )
    max_body_bytes: int = Field(
        1_048_576, ge=1024, description="Largest request body accepted; larger ones get 413."
    )
