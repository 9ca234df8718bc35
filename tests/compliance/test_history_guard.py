"""No code path writes a tracked content model without a history row."""

import ast
from pathlib import Path

import pytest

from compliance.enums import SectionKey
from compliance.models import CONTENT_MODELS, Control, Section, TrackedModel
from core.history import HistoryBypassError, system_actor
from tests.factories import new_row, save

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {"tests", "migrations", ".venv", "venv", ".git", "node_modules", "var", "__pycache__"}
BULK_WRITES = {"bulk_create", "bulk_update"}
CONTENT_MODEL_NAMES = {model.__name__ for model in CONTENT_MODELS}


@pytest.fixture
def rows(db) -> dict[type[TrackedModel], TrackedModel]:
    actor = system_actor()
    return {model: save(new_row(model, actor), actor) for model in CONTENT_MODELS}


def _snapshot(model: type[TrackedModel]) -> tuple[list[dict], int]:
    return [dict(row) for row in model.objects.values()], model.history.count()


@pytest.mark.parametrize("model", CONTENT_MODELS, ids=lambda m: m.__name__)
def test_queryset_bulk_writes_are_refused_for_every_content_model(rows, model):
    obj = rows[model]
    before = _snapshot(model)
    writes = {
        "objects.update": lambda: model.objects.update(pk=obj.pk),
        "filter().update": lambda: model.objects.filter(pk=obj.pk).update(pk=obj.pk),
        "bulk_create": lambda: model.objects.bulk_create([model()]),
        "bulk_update": lambda: model.objects.bulk_update([obj], fields=[model._meta.fields[1].name]),
        "_default_manager.update": lambda: model._default_manager.all().update(pk=obj.pk),
    }

    refused = {}
    for name, write in writes.items():
        with pytest.raises(HistoryBypassError) as exc:
            write()
        refused[name] = str(exc.value)

    assert refused["bulk_create"] == (
        f"{model.__name__}.objects.bulk_create() would skip the change history; "
        "save each row through a service instead."
    )
    assert set(refused) == set(writes)
    assert _snapshot(model) == before


def test_related_manager_bulk_update_is_refused(rows):
    section = Section.objects.get(key=SectionKey.DATA_SECURITY)

    before = _snapshot(Control)
    with pytest.raises(HistoryBypassError):
        section.controls.update(title="changed without history")

    assert _snapshot(Control) == before


# --- static guard ----------------------------------------------------------


def _chain_names(node: ast.AST) -> set[str]:
    """Every name along an expression like `models.Certification.objects.filter(x=1)`."""
    names: set[str] = set()
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            if isinstance(node, ast.Name):
                names.add(node.id)
            return names


def history_bypasses(source: str, filename: str = "<source>") -> list[str]:
    """Writes in `source` that would change a content model without history.

    Flags `save_without_historical_record` anywhere, and `bulk_create(`,
    `bulk_update(` and `.update(` on a chain that starts from a content model
    (also when imported under another name).
    """
    tree = ast.parse(source, filename=filename)
    model_names = set(CONTENT_MODEL_NAMES)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in CONTENT_MODEL_NAMES and alias.asname:
                    model_names.add(alias.asname)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr == "save_without_historical_record") or (
            isinstance(node, ast.Name) and node.id == "save_without_historical_record"
        ):
            found.append((node.lineno, "save_without_historical_record"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in BULK_WRITES | {"update"} and _chain_names(node.func.value) & model_names:
                found.append((node.lineno, f"{method}() on a content model"))
    return [f"{filename}:{line}: {what}" for line, what in sorted(found)]


def project_python_files() -> list[Path]:
    files = []
    for path in PROJECT_ROOT.rglob("*.py"):
        parts = set(path.relative_to(PROJECT_ROOT).parts[:-1])
        if not parts & SKIPPED_DIRS:
            files.append(path)
    return sorted(files)


def test_project_source_has_no_history_bypassing_writes():
    files = project_python_files()
    found = [
        hit
        for path in files
        for hit in history_bypasses(path.read_text(encoding="utf-8"), str(path.relative_to(PROJECT_ROOT)))
    ]

    assert PROJECT_ROOT / "compliance" / "services.py" in files
    assert found == []


def test_static_guard_finds_each_kind_of_bypass():
    source = """
from compliance.models import Certification as Cert, Control
from compliance import models as cm

Cert.objects.filter(is_active=True).update(position=1)
Control.objects.bulk_create([Control()])
Control._base_manager.bulk_update(rows, ["position"])
cm.GdprFact.objects.all().update(body="")
cert.save_without_historical_record()
Certification.history.filter(id=1).update(history_change_reason="")
settings.update(x=1)
Other.objects.update(x=1)
Control.objects.bulk_create_with_history([Control()], batch_size=10)
"""

    assert history_bypasses(source) == [
        "<source>:5: update() on a content model",
        "<source>:6: bulk_create() on a content model",
        "<source>:7: bulk_update() on a content model",
        "<source>:8: update() on a content model",
        "<source>:9: save_without_historical_record",
        "<source>:10: update() on a content model",
    ]
