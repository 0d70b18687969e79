"""A code the API does not know answers the API's JSON 404, however it is malformed."""

import uuid

import pytest
from django.urls import reverse

from tests.test_outsider import _named_patterns

MALFORMED = [
    "not-a-uuid",
    "null,null",
    "1",
    "%00",
    "a%0Ab",  # a line break
    "%16%C3%83%0A",
    "0" * 40,
    "e3e70682-c209-1cac-a29f-6fbed82c07c",
]


def _detail_routes():
    for name, pattern in _named_patterns():
        if name.startswith("api:") and pattern.pattern.regex.groupindex:
            view = pattern.callback.view_class
            method = "get" if hasattr(view, "get") else "post"
            yield name, method


DETAIL_ROUTES = sorted(_detail_routes())


def _url_with(name, code: str) -> str:
    placeholder = uuid.UUID(int=0)
    return reverse(name, kwargs={"code": placeholder}).replace(str(placeholder), code)


def test_every_detail_route_is_here():
    assert {name for name, _ in DETAIL_ROUTES} == {
        "api:offer_detail",
        "api:offer_pause",
        "api:offer_resume",
        "api:member_detail",
        "api:conversion_detail",
        "api:conversion_approve",
        "api:conversion_reject",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("name,method", DETAIL_ROUTES)
def test_a_malformed_code_gets_the_same_json_404_as_an_unknown_one(client, api_key, name, method):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    send = getattr(client, method)
    unknown = send(_url_with(name, str(uuid.uuid4())), content_type="application/json", **auth)
    assert unknown.status_code == 404
    assert unknown["Content-Type"] == "application/json"
    assert unknown.json() == {"error": "Not found."}
    for code in MALFORMED:
        response = send(_url_with(name, code), content_type="application/json", **auth)
        assert response.status_code == 404, code
        assert response["Content-Type"] == "application/json", code
        assert response.json() == unknown.json(), code
        assert "Allow" not in response  # no such resource, so no methods to name


@pytest.mark.django_db
@pytest.mark.parametrize("name,method", DETAIL_ROUTES)
def test_a_malformed_code_without_a_key_is_refused_like_any_other(client, name, method):
    send = getattr(client, method)
    for code in (str(uuid.uuid4()), "not-a-uuid"):
        response = send(_url_with(name, code), content_type="application/json")
        assert response.status_code == 401, code
        assert response.json() == {"error": "Authentication credentials were not provided."}
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.django_db
def test_any_other_path_under_the_api_answers_json(client, api_key):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_key}"}
    for path in ("/api/v1/nothing-here/", "/api/v1/offers/x/y/z/", "/api/v1/"):
        response = client.get(path, **auth)
        assert response.status_code == 404, path
        assert response.json() == {"error": "Not found."}, path
    # Without the trailing slash, the slash is added first, as everywhere on the site.
    assert client.get("/api/v1/offers", **auth).status_code == 301
