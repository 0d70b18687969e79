"""The production static build: collectstatic under DEBUG=false, then pages served with the manifest."""

import os
import re
import subprocess
import sys

import pytest
from django.urls import reverse

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def built_static(tmp_path_factory):
    root = tmp_path_factory.mktemp("staticfiles")
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "static-build-check-0123456789abcdef0123456789abcdef",
        "STATIC_ROOT": str(root),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (root / "staticfiles.json").exists()
    return root


@pytest.fixture
def production_static(settings, built_static):
    settings.DEBUG = False
    settings.STATIC_ROOT = built_static
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }


def static_references(html: str) -> list[str]:
    return re.findall(r'/static/[^"\'\s)]+', html)


def is_hashed(reference: str) -> bool:
    return re.search(r"\.[0-9a-f]{12}\.[a-z0-9]+$", reference) is not None


def test_the_login_page_is_served_with_hashed_assets(production_static, client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    references = static_references(response.content.decode())
    assert references and all(is_hashed(reference) for reference in references), references


@pytest.mark.parametrize("name", ["reports:dashboard", "reports:members", "payments:overview"])
def test_workspace_pages_are_served_with_hashed_assets(production_static, alice_client, name):
    response = alice_client.get(reverse(name))
    assert response.status_code == 200
    references = static_references(response.content.decode())
    assert references and all(is_hashed(reference) for reference in references), references


def test_no_vendored_file_names_a_missing_source_map():
    for path in (ROOT / "static").rglob("*"):
        if path.suffix in {".js", ".css"}:
            for name in re.findall(r"sourceMappingURL=(\S+)", path.read_text(errors="replace")):
                assert (path.parent / name).exists(), f"{path} names {name}, which is not there"


def test_every_page_has_a_favicon_from_the_build(production_static, client):
    page = client.get(reverse("login")).content.decode()
    icon = re.search(r'<link rel="icon" href="(/static/[^"]+)"', page)
    assert icon and is_hashed(icon.group(1))
