"""Another workspace's API key gets 404 for every one of alice's objects (the API side of tests/outsider.py)."""

import pytest
from django.urls import reverse

from tests.outsider import build_world

# URL name -> (method, the world object whose code goes in the URL)
API_CASES = {
    "api:offer_detail": ("get", "offer"),
    "api:offer_pause": ("post", "offer"),
    "api:offer_resume": ("post", "offer"),
    "api:member_detail": ("get", "member"),
    "api:conversion_detail": ("get", "conversion"),
    "api:conversion_approve": ("post", "conversion"),
    "api:conversion_reject": ("post", "conversion"),
}


def test_every_api_url_with_a_parameter_is_covered():
    from tests.test_outsider import _named_patterns

    names = {name for name, p in _named_patterns() if name.startswith("api:") and p.pattern.regex.groupindex}
    assert names == set(API_CASES)


@pytest.mark.parametrize("name", sorted(API_CASES))
def test_it_hides_alices_objects_from_charlies_key(name, other_api, api, workspace, alice):
    world = build_world(workspace, alice)
    method, key = API_CASES[name]
    url = reverse(name, kwargs={"code": world[key].code})
    r = getattr(other_api, method)(url, {"reason": "x"} if method == "post" else None, format="json")
    assert r.status_code == 404, url
    assert r.json() == {"error": "Not found."}
    if method == "get":
        assert api.get(url).status_code == 200  # alice's own key sees it
