"""Imports point one way: reports reads tracking, networks, offers and workspaces; none of them imports reports."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(app: str) -> set[str]:
    found = set()
    for path in (ROOT / app).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
    return found


@pytest.mark.parametrize("app", ["workspaces", "offers", "tracking", "networks", "payments"])
def test_the_apps_below_reports_never_import_it(app):
    assert not {m for m in imported_modules(app) if m == "reports" or m.startswith("reports.")}


def test_reports_imports_the_apps_below_it():
    # The network clicks report reads the networks app's model directly.
    assert "networks.models" in imported_modules("reports")
