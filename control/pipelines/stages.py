"""The pipeline's stage matrix: tasks per document type x current stage x status.

The tasks created in the period counted per document type, stage and status (the hourly
rollup for its whole hours, ``control.pipelines.rollup``); Python only lays the counts
out as rows (document types) and columns (stages, in pipeline order) with every status
present, so a client can draw the matrix without knowing the statuses or the stages in
advance.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from control.clock import utcnow
from control.enums import PipelineStatus
from control.pipelines import rollup
from control.querying import PERIODS

# The reference agent's stages (control/agent/pipeline.py). Not imported from there: the
# agent package pulls in the whole runner. Stages an app names itself follow, A-Z.
KNOWN_ORDER = ("RECEIVED", "OCR", "NER", "VALIDATION", "STORED")


def stage_order(stages: set[str]) -> list[str]:
    """The stages seen, known ones in pipeline order, then the others alphabetically."""
    known = [s for s in KNOWN_ORDER if s in stages]
    return known + sorted(stages - set(KNOWN_ORDER))


def _empty_counts() -> dict[str, int]:
    return {status.value: 0 for status in PipelineStatus}


def stage_matrix(period: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """Tasks created in ``[now - period, now)`` counted by document type, current stage
    and status.

    Each document type has its ``total``, its ``failed`` and one cell per stage seen in
    the period (zero cells included, so every row has the same columns): ``total``,
    ``failed`` and ``by_status`` with every status.
    """
    until = now or utcnow()
    since = until - PERIODS[period]
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for (document_type, stage, status), c in rollup.counts(since, until).items():
        cell = counts.setdefault(document_type, {}).setdefault(stage, _empty_counts())
        cell[status.value] += c.tasks
    stages = stage_order({stage for cells in counts.values() for stage in cells})
    failed = PipelineStatus.FAILED.value
    document_types = []
    for document_type in sorted(counts):
        cells: list[dict[str, Any]] = []
        for stage in stages:
            by_status = counts[document_type].get(stage, _empty_counts())
            cells.append(
                {
                    "stage": stage,
                    "total": sum(by_status.values()),
                    "failed": by_status[failed],
                    "by_status": by_status,
                }
            )
        document_types.append(
            {
                "document_type": document_type,
                "total": sum(c["total"] for c in cells),
                "failed": sum(c["failed"] for c in cells),
                "cells": cells,
            }
        )
    return {
        "period": period,
        "since": since,
        "until": until,
        "stages": stages,
        "document_types": document_types,
    }
