"""Signatures, secrets, retry times, URL shapes and macros: plain functions."""

import random
from datetime import timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from outbound import lib


def test_a_signature_verifies_with_the_standard_webhooks_reference_library():
    secret = lib.new_secret()
    body = '{"type":"conversion.created","timestamp":"2026-12-04T10:00:00Z","data":{"id":"c1"}}'
    import time

    ts = int(time.time())
    headers = {
        "webhook-id": "msg_abc",
        "webhook-timestamp": str(ts),
        "webhook-signature": lib.signature_header([secret], "msg_abc", ts, body),
    }
    assert Webhook(secret).verify(body, headers)["data"]["id"] == "c1"
    # A changed body, or another secret, does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("c1", "c2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(lib.new_secret()).verify(body, headers)


def test_during_a_rotation_either_secret_verifies():
    old, new = lib.new_secret(), lib.new_secret()
    header = lib.signature_header([new, old], "msg_1", 1_700_000_000, "{}")
    assert header.count("v1,") == 2
    for secret in (old, new):
        assert lib.sign(secret, "msg_1", 1_700_000_000, "{}") in header.split(" ")


def test_the_signature_matches_the_specs_worked_example():
    # The example of the Standard Webhooks specification (and of its reference libraries' tests).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert lib.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected


def test_retries_back_off_for_about_a_day_with_jitter():
    rand = random.Random(7)
    delays = [lib.retry_delay(n, rand=rand) for n in range(1, lib.MAX_ATTEMPTS)]
    assert lib.retry_delay(lib.MAX_ATTEMPTS) is None
    assert all(a < b for a, b in zip(delays[:5], delays[1:6], strict=True))
    total = sum(delays, timedelta())
    assert timedelta(hours=20) < total < timedelta(hours=34)
    # Jitter: two schedules are not the same, and each delay stays within 20 % of the base.
    other = [lib.retry_delay(n, rand=random.Random(8)) for n in range(1, lib.MAX_ATTEMPTS)]
    assert delays != other
    for delay, base in zip(delays, lib.RETRY_DELAYS, strict=True):
        assert 0.8 * base <= delay.total_seconds() <= 1.2 * base


@pytest.mark.parametrize(
    "url, problem",
    [
        ("http://hooks.example.com/x", "https://"),
        ("https://127.0.0.1/x", "private"),
        ("https://[::1]/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "private"),
        ("https://10.1.2.3/", "private"),
        ("https://[::ffff:192.168.0.1]/", "private"),
        ("https://user:pw@hooks.example.com/", "user name"),
        ("https:///nohost", "no host"),
    ],
)
def test_it_refuses_urls_that_are_not_https_to_a_public_host(url, problem):
    with pytest.raises(lib.UnsafeTarget, match=problem):
        lib.check_url_shape(url)


def test_it_accepts_a_public_https_url():
    assert lib.check_url_shape("https://hooks.example.com:8443/in") == "hooks.example.com"
    assert lib.check_url_shape("https://93.184.216.34/in") == "93.184.216.34"


def test_macros_are_filled_url_encoded_and_unknown_ones_named():
    url = "https://t.example/pb?tid={transaction_id}&s1={sub1}&p={payout}&x={nope}"
    filled = lib.fill_macros(url, {"transaction_id": "ab c", "sub1": "a&b=c", "payout": "1.50"})
    assert filled == "https://t.example/pb?tid=ab%20c&s1=a%26b%3Dc&p=1.50&x={nope}"
    assert lib.unknown_macros(url) == ["nope"]
