"""Charlie, who owns another workspace, gets 404 for every one of alice's objects."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.outsider import CASES, PORTAL_CASES, PUBLIC, build_world
from tests.portal.helpers import make_access, member_rows, sign_in_as

APP_NAMESPACES = {
    "workspaces",
    "offers",
    "tracking",
    "networks",
    "payments",
    "reports",
    "api",
    "portal",
    "portal_staff",
    "outbound",
    "risk",
    "cpc",
}


def _named_patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or ""
            full = f"{namespace}:{ns}".strip(":") if ns else namespace
            yield from _named_patterns(p, full)
        elif isinstance(p, URLPattern) and p.name:
            yield (f"{namespace}:{p.name}" if namespace else p.name), p


def test_every_parameterised_url_is_covered():
    missing = []
    for name, pattern in _named_patterns():
        if name.split(":")[0] not in APP_NAMESPACES:
            continue
        if not pattern.pattern.regex.groupindex:
            continue
        if name not in CASES and name not in PUBLIC and name not in PORTAL_CASES:
            missing.append(name)
    assert not missing, f"add these URLs to tests/outsider.py (CASES or PUBLIC): {missing}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_it_hides_alices_objects_from_charlie(name, charlie_client, workspace, alice):
    world = build_world(workspace, alice)
    url = reverse(name, kwargs=CASES[name](world))
    # 405 for GET on a POST-only action reveals nothing: it answers so for any id.
    assert charlie_client.get(url).status_code in (404, 405), url
    assert charlie_client.post(url).status_code == 404, url


@pytest.mark.parametrize("name", sorted(PORTAL_CASES))
@pytest.mark.parametrize("who", ["same_workspace", "other_workspace"])
def test_it_hides_a_members_rows_from_other_members(name, who, client, workspace, other_workspace):
    ava = make_access(workspace, name="Ava", email="ava@creators.test")
    rows = {**member_rows(ava.member), "access": ava}
    url = reverse(name, kwargs=PORTAL_CASES[name](rows))
    # Ava herself gets past the gate (so a 404 below is the gate, not a broken URL).
    sign_in_as(client, ava)
    assert client.post(url).status_code != 404, url
    outsider = (
        make_access(workspace, name="Ben", email="ben@creators.test")
        if who == "same_workspace"
        else make_access(other_workspace, name="Cleo", email="cleo@creators.test")
    )
    member_rows(outsider.member, tag="outsider")
    sign_in_as(client, outsider)
    assert client.get(url).status_code in (404, 405), url
    assert client.post(url).status_code == 404, url


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_member_session_reaches_no_staff_page(name, client, workspace, alice):
    world = build_world(workspace, alice)
    url = reverse(name, kwargs=CASES[name](world))
    ava = make_access(workspace, name="Ava", email="ava@creators.test")
    sign_in_as(client, ava)
    for response in (client.get(url), client.post(url)):
        # The staff login (or 404/405, as for anyone): never the page.
        assert response.status_code in (302, 404, 405), url
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("login")), url


STAFF_NAMESPACES = APP_NAMESPACES - {"portal", "api"}
# Staff-side names anyone may open: the public endpoints and the invitation acceptance (its token decides).
OPEN_TO_ANYONE = {"workspaces:accept_invitation"}


def test_a_member_session_reaches_no_staff_page_without_parameters(client, workspace):
    ava = make_access(workspace, name="Ava", email="ava@creators.test")
    sign_in_as(client, ava)
    reached, checked = [], 0
    for name, pattern in _named_patterns():
        if name.split(":")[0] not in STAFF_NAMESPACES or pattern.pattern.regex.groupindex:
            continue
        if name in PUBLIC or name in OPEN_TO_ANYONE:
            continue
        checked += 1
        response = client.get(reverse(name))
        if response.status_code in (404, 405):
            continue
        if response.status_code != 302 or not response["Location"].startswith(reverse("login")):
            reached.append(f"{name}: {response.status_code}")
    assert checked > 30 and not reached, (checked, reached)
