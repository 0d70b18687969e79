"""Every HTML page carries the Content-Security-Policy and needs nothing it forbids.

The policy (config/csp.py) allows scripts and styles from our own origin only: no
inline <script>, no on...= handler, no style="..." attribute. The walk below opens
every page the personas reach (the URL names of the apps, built from the outsider
registry in tests/outsider.py) and reads each body for those.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from config.csp import policy_header
from reports.rollups import rebuild_rollups
from tests.conftest import ROOT
from tests.outsider import CASES, build_world
from tests.payments.helpers import convert, drain, fund, make_connection, make_member
from tests.reports.reportdata import build_report_world
from tests.test_outsider import APP_NAMESPACES, _named_patterns

# Parameterised URLs that are not tenant objects: opened with these arguments.
PUBLIC_PAGES = {
    "tracking:click_not_found": lambda world: {"anything": "not-a-link/"},
    "password_reset_confirm": lambda world: {"uidb64": "MQ", "token": "not-a-token"},
    "workspaces:accept_invitation": lambda world: {"token": world["invitation"].token},
}
# Machine endpoints (redirects, postbacks, pixels), the bench redirect and signing out: no page to render.
NOT_PAGES = {
    "tracking:click",
    "tracking:click_slash",
    "tracking:postback",
    "tracking:pixel",
    "tracking:bench_redirect",
    "logout",
}
# Pages for people who are not signed in.
SIGNED_OUT_PAGES = [
    "login",
    "password_reset",
    "password_reset_done",
    "password_reset_complete",
    "password_reset_confirm",
    "workspaces:accept_invitation",
]


class InlineCodeFinder(HTMLParser):
    """Collects what a strict policy refuses: inline scripts, event handler attributes, style attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        names = {name.lower(): value for name, value in attrs}
        if tag == "script" and "src" not in names and (names.get("type") or "").lower() != "application/json":
            self.found.append(f"inline <script> at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> element at line {self.getpos()[0]}")
        for name in names:
            if name.startswith("on") or name.startswith("hx-on"):
                self.found.append(f"{name}= on <{tag}> at line {self.getpos()[0]}")
            if name == "style":
                self.found.append(f"style= on <{tag}> at line {self.getpos()[0]}")
            if name in ("href", "src", "action") and (names[name] or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL on <{tag}> at line {self.getpos()[0]}")


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def assert_strict_page(response, label):
    assert response.get("Content-Security-Policy") == policy_header(), label
    if response.get("Content-Type", "").startswith("text/html"):
        found = inline_code(response.content.decode())
        assert not found, f"{label}: {found}"


def _site_pages(world, names=None):
    """(label, URL) for every GET page of the site (the apps' and the account pages), with alice's objects."""
    for name, pattern in _named_patterns():
        namespace = name.split(":")[0] if ":" in name else ""
        if namespace not in APP_NAMESPACES | {""} or namespace == "api" or name in NOT_PAGES:
            continue
        if names is not None and name not in names:
            continue
        if pattern.pattern.regex.groupindex:
            if name in CASES:
                kwargs = CASES[name](world)
            elif name in PUBLIC_PAGES:
                kwargs = PUBLIC_PAGES[name](world)
            else:
                continue
        else:
            kwargs = {}
        yield name, reverse(name, kwargs=kwargs)


def test_the_inline_code_finder_finds_what_the_policy_refuses():
    page = """<html><head><script>alert(1)</script><script src="/static/app/app.js"></script>
    <script type="application/json" id="d">{"a": 1}</script><style>p {}</style></head>
    <body onload="x()"><a href="javascript:x()">x</a><div style="color:red" hx-on:click="y()"></div>
    <code>&lt;img style="display:none" onerror="x"&gt;</code></body></html>"""
    found = inline_code(page)
    assert len(found) == 6, found
    assert inline_code('<script src="/a.js"></script><div data-chart=\'{"onclick": 1}\'></div>') == []


@pytest.mark.django_db
def test_every_page_the_personas_open_carries_the_policy_and_no_inline_code(alice_client, workspace, alice):
    world = build_world(workspace, alice)
    build_report_world(workspace)  # so that the dashboard and reports draw their charts
    rebuild_rollups(workspace=workspace)
    opened, charts = 0, 0
    for name, url in _site_pages(world):
        response = alice_client.get(url)
        assert response.status_code < 500, (name, url, response.status_code)
        if response.status_code == 405:
            continue  # a POST-only action
        assert_strict_page(response, f"{name} {url} ({response.status_code})")
        opened += 1
        charts += not response.streaming and b"data-chart=" in response.content
    assert opened >= 45 and charts >= 5, (opened, charts)


@pytest.mark.django_db
def test_pages_rendered_after_a_form_carry_the_policy_and_no_inline_code(alice_client, workspace):
    connection = make_connection(workspace)
    ann = make_member(workspace, "Ann")
    convert(connection, ann, sale="400.00", payout="60.00")
    drain()
    fund(workspace, "100.00")
    today = timezone.localdate().isoformat()
    form = {"currency": "USD", "rail": "manual", "members": [str(ann.code)], "reference": "BANK-1", "paid_on": today}
    review = alice_client.post(reverse("payments:pay"), form)
    assert review.status_code == 200 and b'id="confirm-form"' in review.content
    assert_strict_page(review, "payment review")

    invalid_offer = alice_client.post(reverse("offers:add_offer"), {"name": ""})
    assert invalid_offer.status_code in (200, 400) and b'class="error"' in invalid_offer.content
    assert_strict_page(invalid_offer, "offer form with errors")

    key = alice_client.post(reverse("workspaces:create_api_key"), {"name": "CI"}, follow=True)
    assert key.status_code == 200
    assert_strict_page(key, "API key created")


@pytest.mark.django_db
def test_pages_without_a_login_carry_the_policy(client, workspace, alice):
    world = build_world(workspace, alice)
    pages = list(_site_pages(world, SIGNED_OUT_PAGES))
    assert len(pages) == len(SIGNED_OUT_PAGES)
    for name, url in [*pages, ("signed-in page", "/dashboard/")]:
        response = client.get(url, follow=True)
        assert response.status_code == 200, (name, url)
        assert_strict_page(response, f"{name} {url}")


@pytest.mark.django_db
def test_the_click_404_page_carries_the_policy(client):
    for url in ("/c/Zz9Zz9Zz", "/c/not-a-link/at-all"):
        response = client.get(url)
        assert response.status_code == 404
        assert b"This link does not exist" in response.content
        assert_strict_page(response, url)


def test_the_policy_forbids_what_it_should():
    directives = dict(part.strip().split(" ", 1) for part in policy_header().split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'self'"
    assert directives["form-action"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy_header()


@pytest.mark.django_db
def test_the_api_docs_run_under_the_policy(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    assert_strict_page(response, "/api/v1/docs/")
    script = re.search(rb'<script src="([^"]*\?script=[^"]*)"', response.content)
    assert script, "the Swagger UI set-up is loaded from our own URL"
    js = client.get(script.group(1).decode().replace("&amp;", "&"))
    assert js.status_code == 200 and js["Content-Type"].startswith("application/javascript")


def test_no_template_holds_inline_code():
    found = {}
    for path in sorted((ROOT / "templates").rglob("*.html")):
        if "emails" in path.parts:
            continue  # mail clients, not browsers under our policy
        text = Path(path).read_text()
        problems = inline_code(text)
        if problems:
            found[str(path.relative_to(ROOT))] = problems
    assert not found, found


@pytest.mark.django_db
def test_the_admin_runs_under_the_policy(admin_client, workspace, alice):
    world = build_world(workspace, alice)
    urls = [
        reverse("admin:index"),
        reverse("admin:offers_offer_changelist"),
        reverse("admin:offers_offer_change", args=[world["offer"].pk]),
        reverse("admin:offers_member_add"),
    ]
    for url in urls:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert_strict_page(response, url)
