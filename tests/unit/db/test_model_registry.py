"""The models have no import cycle: the base, the clock and each concept's
``models.py`` import alone, and the registry lists every table in dependency order."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from control.db.base import BaseModel
from control.db.registry import MODEL_MODULES, all_models

ROOT = Path(__file__).resolve().parents[3]
CONTROL = ROOT / "control"
MODELS_FILES = sorted(CONTROL.glob("*/models.py"))
# What a models module may import from the project: the base, the fields, the clock,
# the enums and other models modules. Never a service, never the registry.
ALLOWED = {"control.db.base", "control.db.fields", "control.clock", "control.enums"}
ALLOWED_ENUMS = {"control.auth.roles"}


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _project_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("control"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("control"))
    return found


def test_models_modules_import_only_the_base_and_other_models() -> None:
    for path in MODELS_FILES:
        for name in _project_imports(path):
            allowed = name in ALLOWED | ALLOWED_ENUMS or name.endswith(".models")
            assert allowed, f"{_module(path)} imports {name}"


def test_each_models_module_imports_alone() -> None:
    names = ["control.db.base", "control.clock", *(_module(p) for p in MODELS_FILES)]
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] == 'control']:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
        "    assert 'control.db.registry' not in sys.modules, name\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_models_module_is_registered() -> None:
    registered = {module.__name__ for module in MODEL_MODULES}
    assert {_module(p) for p in MODELS_FILES} <= registered


def test_models_are_declared_in_models_modules() -> None:
    for path in CONTROL.rglob("*.py"):
        if path.name == "models.py":
            continue
        if "control.db.base" not in _project_imports(path):
            continue  # another BaseModel (pydantic's)
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                assert "BaseModel" not in bases, f"{path}: {node.name}"


def test_all_models_come_after_the_tables_they_refer_to() -> None:
    models = all_models()
    assert len(set(models)) == len(models)
    assert all(issubclass(m, BaseModel) for m in models)
    for index, model in enumerate(models):
        for target in model._meta.refs.values():
            assert models.index(target) < index, f"{model.__name__} before {target.__name__}"
