"""GET|POST /postback/<network>/<secret>: one test per edge, plus every network fixture."""

import base64
import json
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection

from tests.tracking.postback_world import make_world
from tracking.models import Conversion, ConversionEvent, PostbackLog

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "postbacks"
FIXTURE_FILES = sorted(FIXTURES.glob("*/*.json"))


def url(world, network=None):
    conn = world["connection"]
    return f"/postback/{network or conn.kind}/{conn.postback_secret}"


def get(client, world, query, **kw):
    return client.get(url(world) + "?" + query, **kw)


@pytest.fixture
def world(workspace):
    return make_world(workspace, kind="impact")


# --- every network's parameter set -------------------------------------------


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_network_fixture(path, client, workspace):
    fixture = json.loads(path.read_text())
    network = path.parent.name
    world = make_world(workspace, kind=network)

    def fill(text):
        return text.replace("{tid}", world["click"].transaction_id).replace("{aff}", world["member"].affiliate_id)

    target = url(world)
    if fixture["method"] == "GET":
        response = client.get(target + "?" + fill(fixture["query"]))
    else:
        response = client.post(target, data=fill(fixture["body"]), content_type=fixture["content_type"])
    expect = fixture["expect"]
    assert response.status_code == expect["status"], response.content
    assert response.content.decode() == expect["answer"]
    assert response["Content-Type"].startswith("text/plain")
    log = PostbackLog.objects.get()
    assert log.workspace == workspace
    assert log.outcome == ("rejected" if expect["status"] >= 400 else expect["answer"])
    if expect["status"] >= 400:
        assert not Conversion.objects.exists()
        return
    conv = Conversion.objects.get()
    assert log.conversion == conv
    assert conv.network == network
    fields = {
        "external_id": lambda c: c.external_id,
        "conversion_status": lambda c: c.status,
        "sale_amount": lambda c: str(c.sale_amount),
        "network_payout": lambda c: str(c.network_payout),
        "currency": lambda c: c.currency,
        "event_at": lambda c: c.event_at.isoformat(),
        "locking_at": lambda c: c.locking_at.isoformat(),
    }
    for name, read in fields.items():
        if name in expect:
            assert read(conv) == expect[name], name
    if expect["answer"] == "accepted":
        assert conv.member == world["member"]
        assert conv.affiliate_mismatch is False


# --- the rules, one by one -----------------------------------------------------


def test_it_accepts_get_and_records_the_raw_request(client, world):
    tid = world["click"].transaction_id
    response = get(client, world, f"subid1={tid}&amount=10.00&action_id=A1", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    assert response.content == b"accepted"
    assert "no-cache" in response["Cache-Control"]
    log = PostbackLog.objects.get()
    assert (log.method, log.source_ip, log.is_pixel, log.response_status) == ("GET", "203.0.113.9", False, 200)
    assert log.query == f"subid1={tid}&amount=10.00&action_id=A1"
    assert log.params == {"subid1": tid, "amount": "10.00", "action_id": "A1"}
    assert log.connection == world["connection"]


def test_it_accepts_post_form_and_keeps_the_body(client, world):
    tid = world["click"].transaction_id
    body = f"subid1={tid}&amount=10.00"
    response = client.post(url(world), data=body, content_type="application/x-www-form-urlencoded")
    assert response.content == b"accepted"
    log = PostbackLog.objects.get()
    assert (log.method, log.body, log.content_type) == ("POST", body, "application/x-www-form-urlencoded")


def test_a_duplicate_answers_200_and_creates_nothing(client, world):
    query = f"subid1={world['click'].transaction_id}&action_id=A1&amount=10.00"
    assert get(client, world, query).content == b"accepted"
    response = get(client, world, query)
    assert (response.status_code, response.content) == (200, b"duplicate")
    assert Conversion.objects.count() == 1
    assert list(PostbackLog.objects.order_by("id").values_list("outcome", flat=True)) == ["accepted", "duplicate"]


def test_a_later_status_updates_and_an_earlier_one_is_ignored(client, world):
    tid = world["click"].transaction_id
    get(client, world, f"subid1={tid}&action_id=A1&status=PENDING&amount=10.00")
    assert get(client, world, f"subid1={tid}&action_id=A1&status=APPROVED").content == b"updated"
    assert get(client, world, f"subid1={tid}&action_id=A1&status=PENDING").content == b"duplicate"
    assert Conversion.objects.get().status == "approved"
    ignored = PostbackLog.objects.order_by("id").last()
    assert "ignored" in ignored.reason


def test_a_second_order_on_one_click_is_a_second_conversion(client, world):
    # A customer who buys twice after one click: the network reports two actions.
    tid = world["click"].transaction_id
    get(client, world, f"subid1={tid}&action_id=A1&amount=10.00")
    response = get(client, world, f"subid1={tid}&action_id=A2&amount=20.00")
    assert response.content == b"accepted"
    assert sorted(Conversion.objects.values_list("external_id", "click_id")) == [
        ("A1", world["click"].pk),
        ("A2", world["click"].pk),
    ]


def test_an_id_less_repeat_after_a_network_record_names_the_conversion_it_duplicates(client, world):
    tid = world["click"].transaction_id
    get(client, world, f"subid1={tid}&action_id=A1&amount=10.00")
    response = get(client, world, f"subid1={tid}&amount=10.00")
    assert response.content == b"duplicate"
    log = PostbackLog.objects.order_by("id").last()
    assert log.conversion == Conversion.objects.get()
    assert "duplicate of conversion A1" in log.reason


def test_a_retry_names_the_conversion_it_repeats(client, world):
    tid = world["click"].transaction_id
    get(client, world, f"subid1={tid}&action_id=A1")
    assert get(client, world, f"subid1={tid}&action_id=A1").content == b"duplicate"
    log = PostbackLog.objects.order_by("id").last()
    assert (log.conversion.external_id, log.reason) == ("A1", "repeat of conversion A1")


def test_an_unknown_transaction_id_is_kept_unattributed(client, world):
    response = get(client, world, "subid1=nobodys-click&amount=5.00")
    assert (response.status_code, response.content) == (200, b"unattributed")
    conv = Conversion.objects.get()
    assert conv.member is None
    assert PostbackLog.objects.get().conversion == conv


def test_an_affiliate_mismatch_is_flagged_and_logged(client, world):
    response = get(client, world, f"subid1={world['click'].transaction_id}&subid2=mIMPOSTOR")
    assert response.content == b"accepted"
    assert Conversion.objects.get().affiliate_mismatch is True
    assert "does not match" in PostbackLog.objects.get().reason


def test_it_rejects_unknown_key_with_a_404_that_reveals_nothing(client, world):
    response = client.get("/postback/impact/not-a-real-secret-at-all?subid1=x")
    assert (response.status_code, response.content) == (404, b"not found")
    log = PostbackLog.objects.get()
    assert (log.workspace, log.outcome, log.reason) == (None, "rejected", "unknown secret")
    assert not Conversion.objects.exists()


def test_it_rejects_a_bad_key_shape_without_logging(client, world):
    assert client.get("/postback/impact/bad.secret!").status_code == 404
    assert client.get("/postback/impact/").status_code == 404
    assert not PostbackLog.objects.exists()


def test_the_network_in_the_url_must_match_the_connection(client, world):
    response = client.get(url(world, network="shareasale") + "?afftrack=x")
    assert (response.status_code, response.content) == (404, b"not found")
    log = PostbackLog.objects.get()
    assert log.workspace == world["connection"].workspace
    assert "belongs to a impact connection" in log.reason


def test_a_rotated_secret_stops_working(client, world):
    old_url = url(world)
    world["connection"].rotate_secret()
    assert client.get(old_url + "?subid1=x").status_code == 404
    assert client.get(url(world) + "?subid1=x").status_code == 200


def test_other_methods_are_refused(client, world):
    assert client.put(url(world)).status_code == 405
    assert client.delete(url(world)).status_code == 405


@pytest.mark.parametrize(
    "query, reason",
    [
        ("amount=10.00", "missing transaction_id (or the network's conversion id)"),
        ("subid1=t&amount=NaN", "amount is not a plain decimal amount"),
        ("subid1=t&amount=-5.00", "amount is negative"),
        ("subid1=t&amount=1e9", "amount is not a plain decimal amount"),
        ("subid1=t&amount=Infinity", "amount is not a plain decimal amount"),
        ("subid1=t&amount=99999999999.00", "amount is above the maximum of 10000000.00"),
        ("subid1=t&amount=12,50", "amount is not a plain decimal amount"),
        ("subid1=t&payout=0.1234567", "payout has more than 5 decimal places"),
        ("subid1=t&status=WHATEVER", "unknown status 'WHATEVER'"),
        ("subid1=t&currency=EURO", "currency must be a 3-letter ISO 4217 code"),
        ("subid1=%FF%FE", "query string is not valid UTF-8"),
        ("subid1=a%00b", "NUL character in a parameter"),
        ("subid1=" + "x" * 300, "subid1 is longer than 255 characters"),
        ("subid1=t&event_date=not-a-date", "event_date is not a date"),
    ],
)
def test_malformed_input_is_a_400_with_a_reason_and_is_logged(client, world, query, reason):
    response = get(client, world, query)
    assert (response.status_code, response.content.decode()) == (400, reason)
    log = PostbackLog.objects.get()
    assert (log.outcome, log.reason, log.workspace, log.response_status) == (
        "rejected",
        reason,
        world["connection"].workspace,
        400,
    )
    assert not Conversion.objects.exists()


def test_a_body_that_is_not_utf8_is_a_400_and_logged_readably(client, world):
    response = client.post(url(world), data=b"subid1=caf\xe9", content_type="application/x-www-form-urlencoded")
    assert (response.status_code, response.content) == (400, b"body is not valid UTF-8")
    assert PostbackLog.objects.get().body == "subid1=caf\ufffd"


def test_bad_json_and_unknown_content_types_are_4xx(client, world):
    assert client.post(url(world), data=b"{oops", content_type="application/json").status_code == 400
    response = client.post(url(world), data=b"<a/>", content_type="application/xml")
    assert (response.status_code, response.content) == (415, b"unsupported content type application/xml")


def test_an_oversized_body_is_a_413_and_logged_truncated(client, world, settings):
    settings.POSTBACK_BODY_LIMIT = 1000
    body = "subid1=" + "a" * 5000
    response = client.post(url(world), data=body, content_type="application/x-www-form-urlencoded")
    assert (response.status_code, response.content) == (413, b"request larger than 1000 bytes")
    log = PostbackLog.objects.get()
    assert len(log.body) == 1000
    assert log.body == body[:1000]
    assert not Conversion.objects.exists()


def test_an_oversized_query_string_is_a_413(client, world, settings):
    settings.POSTBACK_BODY_LIMIT = 500
    response = get(client, world, "subid1=t&pad=" + "b" * 600)
    assert response.status_code == 413
    assert len(PostbackLog.objects.get().query) == 500


def test_a_currency_change_is_refused_with_422(client, world):
    tid = world["click"].transaction_id
    get(client, world, f"subid1={tid}&amount=10.00&currency=USD")
    response = get(client, world, f"subid1={tid}&amount=12.00&currency=EUR")
    assert response.status_code == 422
    assert response.content == b"currency EUR differs from the conversion's USD"
    assert PostbackLog.objects.order_by("id").last().response_status == 422


# --- security options ------------------------------------------------------------


def test_the_ip_allowlist_admits_listed_ranges_only(client, world):
    conn = world["connection"]
    conn.ip_allowlist = "198.51.100.0/24\n2001:db8::/32\nnot-a-range"
    conn.save()
    tid = world["click"].transaction_id
    denied = get(client, world, f"subid1={tid}", REMOTE_ADDR="203.0.113.7")
    assert (denied.status_code, denied.content) == (403, b"source IP 203.0.113.7 is not in the allowlist")
    assert PostbackLog.objects.get().outcome == "rejected"
    assert get(client, world, f"subid1={tid}", REMOTE_ADDR="198.51.100.20").content == b"accepted"
    assert get(client, world, f"subid1={tid}", REMOTE_ADDR="2001:db8::5").content == b"duplicate"


def test_forwarded_for_is_used_only_behind_a_trusted_proxy(client, world, settings):
    world["connection"].ip_allowlist = "198.51.100.0/24"
    world["connection"].save()
    tid = world["click"].transaction_id
    forged = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.20"}
    settings.TRUSTED_PROXY_COUNT = 0
    assert get(client, world, f"subid1={tid}", **forged).status_code == 403
    settings.TRUSTED_PROXY_COUNT = 1
    assert get(client, world, f"subid1={tid}", **forged).status_code == 200
    assert PostbackLog.objects.order_by("id").last().source_ip == "198.51.100.20"


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_http_basic_auth_is_enforced_when_configured(client, world):
    conn = world["connection"]
    conn.basic_auth_username = "impact"
    conn.basic_auth_password_hash = make_password("s3cret-pass")
    conn.save()
    tid = world["click"].transaction_id
    missing = get(client, world, f"subid1={tid}")
    assert (missing.status_code, missing.content) == (401, b"HTTP Basic authentication required")
    assert missing["WWW-Authenticate"].startswith("Basic")
    wrong = get(client, world, f"subid1={tid}", HTTP_AUTHORIZATION=basic("impact", "guess"))
    assert (wrong.status_code, wrong.content) == (401, b"HTTP Basic authentication failed")
    other_user = get(client, world, f"subid1={tid}", HTTP_AUTHORIZATION=basic("someone", "s3cret-pass"))
    assert other_user.status_code == 401
    garbage = get(client, world, f"subid1={tid}", HTTP_AUTHORIZATION="Basic !!!")
    assert (garbage.status_code, garbage.content) == (401, b"malformed HTTP Basic credentials")
    assert not Conversion.objects.exists()
    ok = get(client, world, f"subid1={tid}", HTTP_AUTHORIZATION=basic("impact", "s3cret-pass"))
    assert (ok.status_code, ok.content) == (200, b"accepted")
    again = get(client, world, f"subid1={tid}", HTTP_AUTHORIZATION=basic("impact", "s3cret-pass"))
    assert again.content == b"duplicate"
    # A changed password invalidates what was verified before.
    conn.basic_auth_password_hash = make_password("new-pass")
    conn.save()
    assert get(client, world, f"subid1={tid}", HTTP_AUTHORIZATION=basic("impact", "s3cret-pass")).status_code == 401
    reasons = list(PostbackLog.objects.filter(outcome="rejected").values_list("reason", flat=True))
    assert len(reasons) == 5


# --- robustness and cost ----------------------------------------------------------


@contextmanager
def refused_event_inserts():
    """The database refuses outbox rows (a trigger raises), as a full disk or a bug would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_refuse_event() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER test_refuse_event BEFORE INSERT ON tracking_conversionevent "
                "FOR EACH ROW EXECUTE FUNCTION test_refuse_event()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER test_refuse_event BEFORE INSERT ON tracking_conversionevent "
                "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "DROP TRIGGER test_refuse_event"
                + (" ON tracking_conversionevent" if connection.vendor == "postgresql" else "")
            )


def test_a_failure_while_recording_keeps_the_hit_and_asks_for_a_retry(client, world):
    with refused_event_inserts():
        response = get(client, world, f"subid1={world['click'].transaction_id}&amount=1.00")
    assert (response.status_code, response.content) == (503, b"temporarily unavailable; please retry")
    log = PostbackLog.objects.get()
    assert (log.outcome, log.response_status, log.conversion) == ("rejected", 503, None)
    # The conversion was not half-written without its outbox event.
    assert not Conversion.objects.exists()
    # The network retries and the conversion arrives.
    assert get(client, world, f"subid1={world['click'].transaction_id}&amount=1.00").content == b"accepted"
    assert ConversionEvent.objects.filter(conversion=Conversion.objects.get()).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_hot_path_runs_a_fixed_number_of_queries(client, world, django_assert_num_queries):
    # A transactional test: the endpoint runs in autocommit, as in production.
    tid = world["click"].transaction_id
    unattributed = "subid1=never-clicked&action_id=A2&amount=5.00"
    # A repeat of a stored conversion: the first query brings the conversion along with the
    # connection and the click, so only the log row is written.
    duplicate = 2
    if connection.vendor == "postgresql":
        # The connection with the click (its offer, member and whether an override exists), then one
        # statement that inserts conversion, outbox event and log.
        new = 2
    else:
        # SQLite: the same read, then BEGIN, insert in a savepoint (3), event, log, COMMIT.
        new = 8
    with django_assert_num_queries(new):
        assert get(client, world, f"subid1={tid}&action_id=A1&amount=10.00").content == b"accepted"
    with django_assert_num_queries(duplicate):
        assert get(client, world, f"subid1={tid}&action_id=A1&amount=10.00").content == b"duplicate"
    # Unknown transaction id: the same queries (the Redis buffer is asked too, when there is one).
    with django_assert_num_queries(new):
        assert get(client, world, unattributed).content == b"unattributed"


def test_event_times_are_aware_and_amounts_decimal(client, world):
    get(
        client, world, f"subid1={world['click'].transaction_id}&amount=21.99&event_date=2024-09-10T10%3A42%3A38-07%3A00"
    )
    conv = Conversion.objects.get()
    assert isinstance(conv.sale_amount, Decimal)
    assert isinstance(conv.event_at, datetime) and conv.event_at.tzinfo is not None


@pytest.mark.django_db(transaction=True)
def test_an_update_to_a_known_conversion_goes_straight_to_the_locked_update(client, world):
    # The lookup query already brought the stored conversion: no insert is attempted and the
    # row is not read again without a lock before the locked read.
    tid = world["click"].transaction_id
    assert get(client, world, f"subid1={tid}&action_id=A1&amount=10.00").content == b"accepted"
    # The SQL as sent (an execute wrapper): a query log shows no text for a statement the
    # connection already prepared, and a pooled connection may carry them from earlier tests.
    statements = []

    def record(execute, sql, params, many, context):
        statements.append(str(sql))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert get(client, world, f"subid1={tid}&action_id=A1&amount=10.00&status=APPROVED").content == b"updated"
    conversion_table = Conversion._meta.db_table
    assert not [s for s in statements if s.startswith(f'INSERT INTO "{conversion_table}"')]
    reads = [s for s in statements if s.startswith("SELECT") and f'FROM "{conversion_table}"' in s]
    assert len(reads) == 1
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in reads[0]
    assert Conversion.objects.get().status == "approved"
