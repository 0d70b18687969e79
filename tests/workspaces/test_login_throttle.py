"""Failed sign-ins are throttled by account and by client IP, on our login page and the admin's."""

import time

import pytest
from django.contrib.auth import SESSION_KEY

from tests.conftest import PASSWORD, make_user

LOCKED = "Too many failed sign-ins; try again in"


def sign_in(client, email, password, ip="203.0.113.7", path="/login/", **extra):
    return client.post(path, {"username": email, "password": password}, REMOTE_ADDR=ip, **extra)


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def test_a_wrong_password_storm_locks_the_account(client, alice, workspace, settings):
    assert settings.LOGIN_MAX_FAILURES_PER_ACCOUNT == 5 and settings.LOGIN_LOCKOUT_SECONDS == 900
    for _ in range(4):
        r = sign_in(client, "alice@brand.test", "wrong")
        assert b"did not match" in r.content
    r = sign_in(client, "alice@brand.test", "wrong")
    assert f"{LOCKED} 15 minutes.".encode() in r.content

    # Even the right password, and from another address, until the lock passes.
    r = sign_in(client, "alice@brand.test", PASSWORD)
    assert r.status_code == 200 and LOCKED.encode() in r.content
    r = sign_in(client, "ALICE@brand.test ", PASSWORD, ip="198.51.100.1")
    assert LOCKED.encode() in r.content
    assert not signed_in(client)


def test_a_hundred_wrong_passwords_are_not_all_answered(client, alice, workspace):
    answered = sum(b"did not match" in sign_in(client, "alice@brand.test", f"guess-{i}").content for i in range(100))
    assert answered == 4  # the fifth locks the account; the other 95 are refused unchecked
    assert not signed_in(client)


def test_the_account_lock_leaves_other_accounts_alone(client, alice, bob, workspace):
    for _ in range(5):
        sign_in(client, "alice@brand.test", "wrong")
    r = sign_in(client, "bob@brand.test", PASSWORD)
    assert r.status_code == 302 and signed_in(client)


def test_a_success_forgets_the_accounts_failures(client, alice, workspace):
    for _ in range(4):
        sign_in(client, "alice@brand.test", "wrong")
    assert sign_in(client, "alice@brand.test", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        sign_in(client, "alice@brand.test", "wrong")
    assert sign_in(client, "alice@brand.test", PASSWORD).status_code == 302


def test_one_address_trying_many_accounts_is_locked(client, bob, workspace, settings):
    assert settings.LOGIN_MAX_FAILURES_PER_IP == 20
    for i in range(20):  # one guess per account: no account reaches its own limit
        sign_in(client, f"user{i}@brand.test", "wrong", ip="203.0.113.9")
    r = sign_in(client, "bob@brand.test", PASSWORD, ip="203.0.113.9")
    assert r.status_code == 200 and LOCKED.encode() in r.content
    assert not signed_in(client)
    # Bob himself, from his own address, is not locked out.
    assert sign_in(client, "bob@brand.test", PASSWORD, ip="198.51.100.20").status_code == 302


def test_the_client_address_comes_from_the_trusted_proxy(client, bob, workspace, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for i in range(20):
        sign_in(client, f"user{i}@brand.test", "wrong", ip=proxy, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9")
    # Another visitor behind the same proxy is not the attacker.
    r = sign_in(client, "bob@brand.test", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert r.status_code == 302
    client.logout()
    # The forged left-most entry changes nothing: the proxy saw 203.0.113.9.
    r = sign_in(client, "bob@brand.test", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="8.8.8.8, 203.0.113.9")
    assert LOCKED.encode() in r.content


def test_an_ipv6_client_is_one_network(client, bob, workspace):
    for i in range(20):
        sign_in(client, f"user{i}@brand.test", "wrong", ip=f"2001:db8:1:2::{i + 1:x}")
    r = sign_in(client, "bob@brand.test", PASSWORD, ip="2001:db8:1:2:ffff::1")
    assert LOCKED.encode() in r.content
    assert sign_in(client, "bob@brand.test", PASSWORD, ip="2001:db8:1:3::1").status_code == 302


def test_the_lock_expires(client, alice, workspace, settings):
    settings.LOGIN_LOCKOUT_SECONDS = 1
    for _ in range(5):
        sign_in(client, "alice@brand.test", "wrong")
    r = sign_in(client, "alice@brand.test", PASSWORD)
    assert f"{LOCKED} 1 minute.".encode() in r.content
    time.sleep(2.1)  # Redis expires keys to the second
    assert sign_in(client, "alice@brand.test", PASSWORD).status_code == 302


@pytest.fixture
def staff(db):
    user = make_user("root@brand.test")
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return user


def test_the_admin_login_is_throttled_too(client, staff):
    for _ in range(5):
        r = sign_in(client, "root@brand.test", "wrong", path="/admin/login/")
    assert LOCKED.encode() in r.content
    r = sign_in(client, "root@brand.test", PASSWORD, path="/admin/login/")
    assert r.status_code == 200 and LOCKED.encode() in r.content
    assert not signed_in(client)


def test_one_lock_covers_both_login_pages(client, staff):
    for _ in range(5):
        sign_in(client, "root@brand.test", "wrong")
    r = sign_in(client, "root@brand.test", PASSWORD, path="/admin/login/")
    assert LOCKED.encode() in r.content


def test_the_admin_refusing_a_non_staff_user_is_not_a_failure(client, alice, workspace):
    for _ in range(6):
        r = sign_in(client, "alice@brand.test", PASSWORD, path="/admin/login/")
        assert LOCKED.encode() not in r.content
    assert sign_in(client, "alice@brand.test", PASSWORD).status_code == 302
