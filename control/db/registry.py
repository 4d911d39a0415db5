"""Every model, in dependency order: the tables the migrations create.

Each concept keeps its tables in its own ``models.py``, which imports only
:mod:`control.db.base`, the fields, the enums, the clock and other ``models.py``
modules. This module gathers them; nothing a model imports may import it (a test checks
both rules), so importing any model never drags in the others or a service.
"""

from __future__ import annotations

from types import ModuleType

from peewee import sort_models  # type: ignore[attr-defined]  # in peewee, missing from its stubs

from control.agents import models as agents_models
from control.apps import models as apps_models
from control.audit import models as audit_models
from control.auth import models as auth_models
from control.bulk import models as bulk_models
from control.commands import models as commands_models
from control.db.base import BaseModel
from control.health import models as health_models
from control.jobs import models as jobs_models
from control.logs import models as logs_models
from control.notifications import models as notifications_models
from control.performance import models as performance_models
from control.pipelines import models as pipelines_models
from control.rollups import models as rollups_models
from control.runtimes import models as runtimes_models
from control.scheduler import models as scheduler_models
from control.system import models as system_models

MODEL_MODULES: tuple[ModuleType, ...] = (
    apps_models,
    runtimes_models,
    logs_models,
    pipelines_models,
    performance_models,
    auth_models,
    audit_models,
    commands_models,
    notifications_models,
    jobs_models,
    system_models,
    scheduler_models,
    bulk_models,
    health_models,
    agents_models,
    rollups_models,
)
"""The modules that declare models; a model outside them has no table."""

CORE_MODELS: tuple[type[BaseModel], ...] = (
    apps_models.Apps,
    runtimes_models.Runtime,
    logs_models.Logs,
    pipelines_models.PipelineTask,
    performance_models.FunctionLog,
)
"""The core tables shared with the fleet's managers (the spec's Program Manager)."""


def all_models() -> list[type[BaseModel]]:
    """Every table the migrations create, a table after those it refers to."""
    found = {
        value
        for module in MODEL_MODULES
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, BaseModel) and value is not BaseModel
    }
    ordered: list[type[BaseModel]] = sort_models(found)
    return ordered
