"""The app health area: one app's baseline and verdicts, and the fleet's counts."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

Verdict = Literal["slow", "stalled", "missed", "low_output", "failing"]


class BaselineView(BaseModel):
    runs: int = Field(
        description="Completed runs in the baseline (at most DC_HEALTH_BASELINE_RUNS)."
    )
    duration_p50: float | None
    duration_p95: float | None
    records_p50: float | None
    updated: dt.datetime | None
    last_run: dict[str, Any] | None = Field(
        description="The last finished run as judged when it ended: runtime, status, seconds, "
        "records, ended, and the evidence of slow / low_output (null when normal)."
    )


class ThresholdsView(BaseModel):
    slow_factor: float
    low_output_factor: float
    stalled_seconds: float
    missed_grace_seconds: float
    min_runs: int


class VerdictItem(BaseModel):
    id: int
    verdict: Verdict
    raised_at: dt.datetime
    cleared_at: dt.datetime | None = Field(description="Null while the verdict holds.")
    evidence: dict[str, Any]


class AppHealth(BaseModel):
    app: str
    status: Literal["ok", "unhealthy"]
    baseline: BaselineView
    thresholds: ThresholdsView = Field(description="The thresholds in force for this app.")
    verdicts: list[VerdictItem] = Field(description="The verdicts holding now.")
    history: list[VerdictItem] = Field(description="The latest verdicts, newest first.")


class AppHealthResponse(BaseModel):
    data: AppHealth


class VerdictApps(BaseModel):
    count: int
    apps: list[str]


class FleetHealth(BaseModel):
    apps_total: int
    apps_unhealthy: int
    verdicts: dict[Verdict, VerdictApps]


class FleetHealthResponse(BaseModel):
    data: FleetHealth
