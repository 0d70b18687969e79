"""The production server itself (gunicorn with config/gunicorn.py) in front of the postback path."""

import httpx
import pytest

from tests.conftest import running_gunicorn
from tests.tracking.postback_world import make_world
from tracking.models import Conversion, PostbackLog

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def gunicorn_url(transactional_db):
    with running_gunicorn() as url:
        yield url


def test_a_postback_up_to_the_body_limit_in_its_query_string_is_accepted(gunicorn_url, workspace, settings):
    world = make_world(workspace, kind="generic")
    secret = world["connection"].postback_secret
    # A network's long template: the query string fills POSTBACK_BODY_LIMIT (8 KB by default).
    base = f"transaction_id={world['click'].transaction_id}&amount=20.00&note="
    query = base + "x" * (settings.POSTBACK_BODY_LIMIT - len(base))
    response = httpx.get(f"{gunicorn_url}/postback/generic/{secret}?{query}", timeout=10)
    assert response.status_code == 200, response.text
    assert Conversion.objects.count() == 1
    assert len(PostbackLog.objects.get().query) == settings.POSTBACK_BODY_LIMIT


def test_a_query_string_over_the_limit_gets_the_apps_413_not_the_servers_414(gunicorn_url, workspace, settings):
    world = make_world(workspace, kind="generic")
    secret = world["connection"].postback_secret
    query = f"transaction_id={world['click'].transaction_id}&note=" + "x" * settings.POSTBACK_BODY_LIMIT
    response = httpx.get(f"{gunicorn_url}/postback/generic/{secret}?{query}", timeout=10)
    assert response.status_code == 413
    assert PostbackLog.objects.count() == 1
