"""Historical migrations carry what they need: none runs code of this project, so
that editing an app's module can never change or break a fresh install.

What `makemigrations` itself writes stays allowed: a module-level `import app.module`
whose names appear only as field arguments (a storage, an upload path, validators),
never called by the migration. Everything else that reaches into the project (a
`from app import ...`, an import inside a function, a call) fails.
"""

import ast
from pathlib import Path

from django.apps import apps
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# Field arguments through which a migration names a callable of the model's field.
FIELD_REFERENCES = {"storage", "upload_to", "validators", "default", "limit_choices_to"}


def project_packages() -> set[str]:
    """Top-level packages of this repository (apps, settings package), not installed libraries."""
    return {path.parent.name for path in ROOT.glob("*/__init__.py")} - {"tests"}


def reaches_into_project(source: str, ours: set[str]) -> list[str]:
    """What a migration's source uses of the project beyond field references, as readable lines."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[str] = []
    field_modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in ours):
            found.append(f"line {node.lineno}: from {'.' * node.level}{node.module or ''} import ...")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in ours:
                    continue
                if parents[node] is tree and alias.asname is None:
                    field_modules.add(alias.name.split(".")[0])
                else:
                    found.append(f"line {node.lineno}: import {alias.name}")
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Name) and node.id in field_modules):
            continue
        outer: ast.AST = node
        while isinstance(parents[outer], ast.Attribute):
            outer = parents[outer]
        holder: ast.AST = parents[outer]
        while isinstance(holder, (ast.List, ast.Tuple)):
            holder = parents[holder]
        if not (isinstance(holder, ast.keyword) and holder.arg in FIELD_REFERENCES):
            found.append(f"line {node.lineno}: {ast.unparse(outer)} used outside a field argument")
    return found


def project_migrations() -> list[Path]:
    files = []
    for config in apps.get_app_configs():
        folder = Path(config.path) / "migrations"
        if folder.is_relative_to(ROOT) and folder.is_dir():
            files += sorted(folder.glob("[0-9]*.py"))
    return files


def test_the_scan_sees_every_app_with_migrations():
    apps_seen = {path.parent.parent.name for path in project_migrations()}
    assert {"accounts", "compliance", "core", "documents", "evidence", "requests_app", "subscriptions"} <= apps_seen


def test_no_migration_runs_project_code():
    ours = project_packages()
    offenders = [
        f"{path.relative_to(ROOT)} {line}"
        for path in project_migrations()
        for line in reaches_into_project(path.read_text(), ours)
    ]
    assert offenders == []


def test_the_scan_catches_every_way_into_project_code():
    ours = {"accounts", "evidence", "compliance"}
    source = """
import compliance.models
import evidence.db
from django.db import migrations, models
from accounts.roles import sync_roles
from . import helpers


def forwards(apps, schema_editor):
    from evidence.services import append_link
    evidence.db.install_guards(schema_editor.connection)


FIELD = models.FileField(upload_to=compliance.models.document_upload_path, validators=[compliance.models.check])
"""
    assert reaches_into_project(source, ours) == [
        "line 5: from accounts.roles import ...",
        "line 6: from . import ...",
        "line 10: from evidence.services import ...",
        "line 11: evidence.db.install_guards used outside a field argument",
    ]
