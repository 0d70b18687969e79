"""Imports point one way (SPEC section 10): each app uses only the apps below it.

The contracts are import-linter's, in pyproject.toml ([tool.importlinter]); `lint-imports` runs
them from the shell too. Two blind spots of an import graph are checked here as well: an app
missing from the contracts, and a model named by its "app.Model" label instead of imported.
"""

import re
import tomllib
from pathlib import Path

from django.apps import apps
from django.conf import settings
from importlinter.cli import lint_imports

CONFIG = Path(settings.BASE_DIR) / "pyproject.toml"


def _importlinter() -> dict:
    return tomllib.loads(CONFIG.read_text())["tool"]["importlinter"]


def _layers() -> list[list[str]]:
    """The layers contract's apps, top first (optional ones without their parentheses)."""
    (contract,) = [c for c in _importlinter()["contracts"] if c["id"] == "layers"]
    return [[name.strip(" ()") for name in re.split(r"[|:]", layer)] for layer in contract["layers"]]


def _project_apps() -> set[str]:
    base = Path(settings.BASE_DIR).resolve()
    return {app.name for app in apps.get_app_configs() if Path(app.path).resolve().parent == base}


def test_the_import_contracts_hold(capsys):
    code = lint_imports(config_filename=str(CONFIG), no_cache=True, no_logo=True)
    assert code == 0, capsys.readouterr().out


def test_every_app_is_in_the_contracts():
    in_layers = {name for layer in _layers() for name in layer}
    roots = set(_importlinter()["root_packages"])
    assert _project_apps() <= in_layers, "add the app to the layers in pyproject.toml"
    assert _project_apps() <= roots, "add the app to root_packages in pyproject.toml"


def test_no_app_names_a_model_of_an_app_above_it():
    """``apps.get_model("tracking.Conversion")`` or a lazy foreign key hide an import from the graph."""
    found = []
    layers = _layers()
    for depth, layer in enumerate(layers):
        above = [name for upper in layers[:depth] for name in upper]
        label = re.compile(r"""["'](""" + "|".join(above) + r""")\.[A-Z]\w*["']""") if above else None
        for app in layer:
            folder = Path(settings.BASE_DIR) / app
            if label is None or not folder.is_dir():
                continue
            for path in folder.rglob("*.py"):
                if "migrations" in path.parts:
                    continue
                for number, line in enumerate(path.read_text().splitlines(), 1):
                    if label.search(line):
                        found.append(f"{path.relative_to(settings.BASE_DIR)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)
