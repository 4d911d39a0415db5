"""System: health."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class HealthStatus(BaseModel):
    status: Literal["healthy", "degraded", "unhealthy"]


class HealthResponse(BaseModel):
    """The public health answer carries only the status."""

    data: HealthStatus
