"""Fixtures shared by the whole suite.

Three personas, as the style guide describes:
- alice owns ``workspace``;
- bob is a member of it (his role is flipped per test);
- charlie owns ``other_workspace`` and must see nothing of alice's.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.clients import SiteClient
from workspaces.models import ApiKey, Membership, Role, Workspace

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"


def pytest_collection_modifyitems(config, items):
    using_pg = django_settings.USING_POSTGRES
    using_redis = bool(django_settings.REDIS_URL)
    has_chromium = os.path.exists("/usr/bin/chromium")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://...")
    skip_browser = pytest.mark.skip(reason="needs Debian's chromium at /usr/bin/chromium")
    for item in items:
        if "postgres" in item.keywords and not using_pg:
            item.add_marker(skip_pg)
        if ("redis" in item.keywords or "celery_worker" in item.keywords) and not using_redis:
            item.add_marker(skip_redis)
        if "browser" in item.keywords and not has_chromium:
            item.add_marker(skip_browser)


@pytest.fixture
def client():
    """Django's test client, with /c/, /postback/ and /pixel/ routed as config/wsgi.py routes them."""
    return SiteClient()


@pytest.fixture(autouse=True)
def _fast_and_quiet(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SECURE_SSL_REDIRECT = False
    settings.SPOOL_DIR = tmp_path / "spool"
    if not django_settings.REDIS_URL:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(autouse=True)
def _clear_cache(_fast_and_quiet):
    # After _fast_and_quiet: it may swap the cache backend, and locmem caches share storage by name.
    from django.core.cache import cache

    cache.clear()
    yield


def make_user(email: str, name: str = ""):
    return get_user_model().objects.create_user(username=email, email=email, password=PASSWORD, first_name=name)


@pytest.fixture
def alice(db):
    return make_user("alice@brand.test", "Alice")


@pytest.fixture
def bob(db):
    return make_user("bob@brand.test", "Bob")


@pytest.fixture
def charlie(db):
    return make_user("charlie@other.test", "Charlie")


@pytest.fixture
def workspace(alice, bob):
    ws = Workspace.objects.create(name="Alice Brand", slug="alice-brand")
    Membership.objects.create(workspace=ws, user=alice, role=Role.OWNER)
    Membership.objects.create(workspace=ws, user=bob, role=Role.MANAGER)
    return ws


@pytest.fixture
def other_workspace(charlie):
    ws = Workspace.objects.create(name="Charlie Brand", slug="charlie-brand")
    Membership.objects.create(workspace=ws, user=charlie, role=Role.OWNER)
    return ws


def set_role(user, workspace, role):
    Membership.objects.filter(user=user, workspace=workspace).update(role=role)


@pytest.fixture
def alice_client(client, alice, workspace):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(client, bob, workspace):
    client.force_login(bob)
    return client


@pytest.fixture
def charlie_client(client, charlie, other_workspace, workspace):
    client.force_login(charlie)
    return client


@pytest.fixture
def api_key(workspace, alice):
    key, raw = ApiKey.make(workspace=workspace, name="test key", created_by=alice)
    return raw


@pytest.fixture
def other_api_key(other_workspace, charlie):
    key, raw = ApiKey.make(workspace=other_workspace, name="charlie key", created_by=charlie)
    return raw


@pytest.fixture
def api(api_key):
    """An API client carrying alice's workspace key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def other_api(other_api_key):
    """An API client carrying charlie's workspace key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_api_key}")
    return client


def _database_url_for(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real ``celery worker`` process on Redis, reading the test database.

    Each use gets its own queue so no stale message from another run can reach it.
    Tests using it must be ``transaction=True`` so the worker sees committed rows.
    """
    from django.db import connection

    from config.celery import app

    queue = f"test-{uuid.uuid4().hex[:10]}"
    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url_for(connection.settings_dict["NAME"])
    env["CELERY_QUEUE"] = queue
    env["EMAIL_URL"] = "consolemail://"
    old_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        ready = False
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "ready." in line:
                ready = True
                break
        assert ready, "celery worker did not start:\n" + "".join(lines)
        yield proc
    finally:
        app.conf.task_default_queue = old_queue
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(kind: str = "granian", **env):
    """The production web server (`python -m config.serve`, WEB_SERVER=``kind``) on the test database,
    one worker; tests using it must be transaction=True. ``env`` adds settings. Yields its base URL."""
    from django.db import connection

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url_for(connection.settings_dict["NAME"]),
        "WEB_SERVER": kind,
        "WEB_BIND": f"127.0.0.1:{port}",
        "WEB_WORKERS": "1",
        "GUNICORN_WORKERS": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "0",
        **env,
    }
    # The log goes to a file: a pipe nobody reads fills up and stops the workers mid-request.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "config.serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            return httpx.get(url + "/c/-", timeout=1).status_code > 0
        except httpx.TransportError:
            return False

    try:
        assert wait_for(up, timeout=30), f"{kind} did not start"
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()


def wait_for(predicate, timeout=15.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def wait_for_js(page, expression: str, arg=None, timeout: float = 15.0):
    """Wait until ``expression`` (or the function ``expression`` applied to ``arg``) is truthy in the page.

    Playwright's own wait_for_function runs its predicate through eval inside the page,
    which our Content-Security-Policy refuses; page.evaluate goes through the DevTools
    protocol, which the policy does not govern.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(50)


@pytest.fixture
def browser_page():
    """A Playwright page in Debian's headless Chromium."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(15000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.fixture(autouse=True)
def _clear_click_link_cache():
    """Web processes remember clicked links and tracking domains for a few seconds; tests start with
    none remembered (SQLite gives a new workspace the id of a rolled-back one)."""
    from tracking.clicks.recording import clear_link_cache
    from workspaces.domains import forget_cached_domains

    clear_link_cache()
    forget_cached_domains()
    yield
