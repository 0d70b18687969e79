"""The production server itself (gunicorn with config/gunicorn.py) in front of the postback path."""

import os
import socket
import subprocess
import sys

import httpx
import pytest

from tests.conftest import ROOT, _database_url_for, wait_for
from tests.tracking.postback_world import make_world
from tracking.models import Conversion, PostbackLog

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn_url(transactional_db):
    from django.db import connection

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url_for(connection.settings_dict["NAME"]),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return httpx.get(url + "/c/-", timeout=1).status_code > 0
        except httpx.TransportError:
            return False

    try:
        assert wait_for(up, timeout=30), "gunicorn did not start"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
