"""One base URL everywhere: SITE_URL prints every public URL, and staff hear about a host that differs."""

import subprocess

from django.urls import reverse

from tests.conftest import ROOT
from tests.tracking.postback_world import make_world


def make_variable(name: str, **env) -> str:
    out = subprocess.run(
        ["make", "-pn", "run"], cwd=ROOT, env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True
    ).stdout
    return next(line.split(":=", 1)[1].strip() for line in out.splitlines() if line.startswith(f"{name} :="))


def test_make_run_derives_site_url_from_hub_port():
    assert make_variable("SITE_URL", HUB_PORT="18900") == "http://127.0.0.1:18900"
    assert make_variable("SITE_URL") == "http://127.0.0.1:8000"


def test_a_site_url_that_is_set_wins():
    out = subprocess.run(
        ["make", "-pn", "run"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HUB_PORT": "18900", "SITE_URL": "https://hub.example.com"},
        capture_output=True,
        text=True,
    ).stdout
    assert "SITE_URL = https://hub.example.com" in out


def test_the_postback_panel_prints_site_url_not_the_requests_host(alice_client, workspace, settings):
    settings.SITE_URL = "https://hub.example.com"
    settings.ALLOWED_HOSTS = ["*"]
    world = make_world(workspace, kind="impact")
    page = alice_client.get(
        reverse("tracking:offer_detail", args=[world["offer"].code]), HTTP_HOST="127.0.0.1:18900"
    ).content.decode()
    assert f"https://hub.example.com/postback/impact/{world['connection'].postback_secret}" in page
    assert "http://127.0.0.1:18900/postback/" not in page


def test_staff_pages_warn_when_the_host_differs_from_site_url(alice_client, workspace, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    settings.ALLOWED_HOSTS = ["*"]
    page = alice_client.get(reverse("offers:offer_list"), HTTP_HOST="127.0.0.1:18900").content.decode()
    assert "SITE_URL" in page and "http://127.0.0.1:8000" in page and "127.0.0.1:18900" in page
    same = alice_client.get(reverse("offers:offer_list"), HTTP_HOST="127.0.0.1:8000").content.decode()
    assert "SITE_URL" not in same
