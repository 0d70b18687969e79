"""Charlie, who owns another workspace, gets 404 for every one of alice's objects."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.outsider import CASES, PUBLIC, build_world

APP_NAMESPACES = {"workspaces", "offers", "tracking", "networks", "payments", "reports", "api", "cpc"}


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
        if name not in CASES and name not in PUBLIC:
            missing.append(name)
    assert not missing, f"add these URLs to tests/outsider.py (CASES or PUBLIC): {missing}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_it_hides_alices_objects_from_charlie(name, charlie_client, workspace, alice):
    world = build_world(workspace, alice)
    url = reverse(name, kwargs=CASES[name](world))
    # 405 for GET on a POST-only action reveals nothing: it answers so for any id.
    assert charlie_client.get(url).status_code in (404, 405), url
    assert charlie_client.post(url).status_code == 404, url
