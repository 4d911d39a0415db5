"""Baselines: an app's duration p50/p95 and records p50 over its last N completed runs.

Kept current as runs end (:func:`add_sample`, from the one place a run is closed): the
baseline row holds the last N samples, so no request ever scans an app's history.
Percentiles interpolate linearly between the closest ranks (numpy's default), so
p95 of a few runs lies between the two slowest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Sample = tuple[str, float, int]  # (runtime id, duration seconds, records)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` (0..100) percentile of ``values``, linearly interpolated; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


@dataclass(frozen=True)
class Baseline:
    """What an app's recent completed runs look like."""

    runs: int
    duration_p50: float | None
    duration_p95: float | None
    records_p50: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "duration_p50": _round(self.duration_p50),
            "duration_p95": _round(self.duration_p95),
            "records_p50": _round(self.records_p50),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def parse_samples(raw: Any) -> list[Sample]:
    """The stored samples (JSON lists), skipping anything malformed."""
    samples: list[Sample] = []
    for item in raw or []:
        try:
            runtime_id, seconds, records = item
            samples.append((str(runtime_id), float(seconds), int(records)))
        except (TypeError, ValueError):
            continue
    return samples


def add_sample(samples: Sequence[Sample], sample: Sample, keep: int) -> list[Sample]:
    """``samples`` with ``sample`` appended (once per run), the last ``keep`` of them."""
    kept = [s for s in samples if s[0] != sample[0]]
    kept.append(sample)
    return kept[-keep:] if keep > 0 else []


def baseline_of(samples: Sequence[Sample]) -> Baseline:
    """The percentiles of ``samples``."""
    durations = [s[1] for s in samples]
    records = [float(s[2]) for s in samples]
    return Baseline(
        runs=len(samples),
        duration_p50=percentile(durations, 50),
        duration_p95=percentile(durations, 95),
        records_p50=percentile(records, 50),
    )
