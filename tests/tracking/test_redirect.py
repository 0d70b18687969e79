"""GET /c/<code>: the click redirect, one test per rule."""

from datetime import UTC, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from offers.models import Link, Member, NetworkConnection, Offer
from tests.offers.test_lib import BAD_DESTINATIONS
from tracking.clicks import buffer, recording
from tracking.models import Click
from workspaces.http import client_ip

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"


def make_link(workspace, *, offer_url="https://shop.example/?tid={transaction_id}&aff={affiliate_id}", **offer_kw):
    kind = offer_kw.pop("kind", None)
    connection = NetworkConnection.objects.create(workspace=workspace, kind=kind, label=kind) if kind else None
    offer_kw.setdefault("allowed_domains", "shop.example\n*.brand.example")
    offer = Offer.objects.create(
        workspace=workspace, name="Spring", offer_url=offer_url, connection=connection, **offer_kw
    )
    member = Member.objects.create(workspace=workspace, name="Maya", email=f"maya{Member.objects.count()}@x.test")
    return Link.objects.create(workspace=workspace, offer=offer, member=member)


def hit(client, link_or_code, *, ua=BROWSER_UA, ip="203.0.113.7", method="get", **params):
    code = link_or_code if isinstance(link_or_code, str) else link_or_code.code
    url = reverse("tracking:click", kwargs={"code": code})
    return getattr(client, method)(url, params, HTTP_USER_AGENT=ua, REMOTE_ADDR=ip)


@pytest.fixture(autouse=True)
def _direct_clicks(settings):
    settings.CLICK_BUFFER = "direct"
    settings.TRUSTED_PROXY_COUNT = 0


@pytest.fixture
def link(workspace):
    return make_link(workspace, utm_source="hub", utm_medium="affiliate")


def query(url):
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def test_it_records_the_click_and_redirects_with_its_transaction_id(client, link):
    response = hit(client, link)
    assert response.status_code == 302
    click = Click.objects.get()
    assert (click.workspace, click.link, click.offer, click.member) == (
        link.workspace,
        link,
        link.offer,
        link.member,
    )
    assert query(response["Location"]) == {
        "tid": [click.transaction_id],
        "aff": [link.member.affiliate_id],
        "utm_source": ["hub"],
        "utm_medium": ["affiliate"],
    }
    assert click.destination == response["Location"]
    assert click.offer_state == "active"
    assert click.user_agent == BROWSER_UA


def test_it_forbids_caching_the_redirect(client, link):
    response = hit(client, link)
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert "Expires" in response
    assert response["X-Robots-Tag"].startswith("noindex")


def test_transaction_ids_are_fresh_128_bit_url_safe_values(client, link):
    for _ in range(20):
        hit(client, link)
    ids = list(Click.objects.values_list("transaction_id", flat=True))
    assert len(set(ids)) == 20
    assert all(len(t) == 32 and int(t, 16) >= 0 for t in ids)


def test_it_runs_two_queries_when_inserting_directly(client, link, django_assert_num_queries):
    with django_assert_num_queries(2):  # the link (with offer, connection, member), the insert
        assert hit(client, link).status_code == 302
    with django_assert_num_queries(1):  # the link is remembered for a few seconds
        assert hit(client, link).status_code == 302


def test_a_remembered_link_is_looked_up_again_after_a_few_seconds(client, link, settings, monkeypatch):
    settings.CLICK_LINK_CACHE_SECONDS = 5
    hit(client, link)
    link.offer.paused = True
    link.offer.save(update_fields=["paused"])
    assert hit(client, link)["Location"].startswith("https://shop.example/?tid=")
    now = recording.time.monotonic()
    monkeypatch.setattr(recording.time, "monotonic", lambda: now + 6)
    assert hit(client, link)["Location"].startswith("https://shop.example/?tid=&")
    assert list(Click.objects.order_by("id").values_list("offer_state", flat=True)) == ["active", "active", "paused"]


def test_the_link_memory_can_be_turned_off(client, link, settings, django_assert_num_queries):
    settings.CLICK_LINK_CACHE_SECONDS = 0
    hit(client, link)
    with django_assert_num_queries(2):
        hit(client, link)


@pytest.mark.redis
def test_it_runs_one_query_when_buffering_in_redis(client, link, settings, django_assert_num_queries):
    settings.CLICK_BUFFER = "redis"
    with django_assert_num_queries(1):
        assert hit(client, link).status_code == 302
    with django_assert_num_queries(0):
        assert hit(client, link).status_code == 302
    assert Click.objects.count() == 0
    assert buffer.buffered_click_count() == 2


def test_every_macro_is_substituted_url_encoded(client, workspace):
    link = make_link(
        workspace,
        offer_url="https://shop.example/?t={transaction_id}&a={affiliate_id}&o={offer_id}&s1={sub1}&s5={sub5}&at={click_time}",
    )
    link.sub1 = "ig story"
    link.save(update_fields=["sub1"])
    response = hit(client, link, sub5="a&b=c")
    click = Click.objects.get()
    assert "s1=ig%20story" in response["Location"]
    assert "s5=a%26b%3Dc" in response["Location"]
    q = query(response["Location"])
    assert q["t"] == [click.transaction_id]
    assert q["o"] == [str(link.offer.code)]
    assert q["at"] == [click.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert (click.sub1, click.sub5) == ("ig story", "a&b=c")


def test_utm_parameters_already_in_the_offer_url_are_kept(client, workspace):
    link = make_link(workspace, offer_url="https://shop.example/?utm_source=brand&t={transaction_id}", utm_source="hub")
    response = hit(client, link)
    assert query(response["Location"])["utm_source"] == ["brand"]


def test_vanity_slugs_resolve_and_codes_win_over_a_vanity_of_the_same_spelling(client, workspace, link):
    link.vanity = "maya-spring"
    link.save(update_fields=["vanity"])
    assert hit(client, "maya-spring").status_code == 302
    assert Click.objects.get().link == link
    # "summer26" is both a valid code and a valid vanity slug.
    by_code = Link.objects.create(workspace=workspace, offer=link.offer, member=link.member, code="summer26")
    Link.objects.create(workspace=workspace, offer=link.offer, member=link.member, vanity="summer26")
    hit(client, "summer26")
    assert Click.objects.order_by("-id").first().link == by_code


def test_unknown_code_gets_a_helpful_404_page(client, db, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = hit(client, "Zz9Zz9Zz")
    assert response.status_code == 404
    assert b"This link does not exist" in response.content
    assert Click.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/c/ab",
        "/c/Ab3dE9xY1",
        "/c/ab$cdefg",
        "/c/AB-CDEFG",
        "/c/-abcdef",
        "/c/" + "a" * 51,
        "/c/a%00bcdefg",
        "/c/abcd%20efgh",
        "/c/Ab3dE9xY/extra",
        "/c/..%2F..%2Fetc",
    ],
)
def test_malformed_codes_are_404_without_touching_the_database(client, db, path, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(path, HTTP_USER_AGENT=BROWSER_UA)
    assert response.status_code == 404
    assert b"This link does not exist" in response.content


def test_a_trailing_slash_is_accepted(client, link):
    assert client.get(f"/c/{link.code}/", HTTP_USER_AGENT=BROWSER_UA).status_code == 302


def test_it_only_answers_get_and_head(client, link):
    assert client.post(f"/c/{link.code}").status_code == 405
    assert Click.objects.count() == 0


# --- deep links ------------------------------------------------------------


def test_an_allowed_deep_link_is_followed(client, link):
    response = hit(client, link, url="https://eu.brand.example/shoes?size=9")
    location = response["Location"]
    assert location.startswith("https://eu.brand.example/shoes?size=9&")
    assert query(location)["tid"] == [Click.objects.get().transaction_id]


@pytest.mark.parametrize("deep_url", BAD_DESTINATIONS)
def test_a_disallowed_deep_link_goes_to_the_offer_url(client, link, deep_url):
    response = hit(client, link, url=deep_url)
    assert response.status_code == 302
    assert response["Location"].startswith("https://shop.example/?tid=")


def test_impact_deep_links_ride_in_the_u_parameter(client, workspace):
    link = make_link(
        workspace, kind="impact", offer_url="https://brand.sjv.io/c/1/2/3?subId1={transaction_id}&subId2={affiliate_id}"
    )
    response = hit(client, link, url="https://shop.example/p/1")
    q = query(response["Location"])
    assert q["u"] == ["https://shop.example/p/1"]
    assert q["subId1"] == [Click.objects.get().transaction_id]


def test_the_links_own_destination_is_used(client, link):
    link.destination_url = "https://shop.example/collection"
    link.save(update_fields=["destination_url"])
    assert urlsplit(hit(client, link)["Location"]).path == "/collection"


# --- uniques, bots, visitors ----------------------------------------------------


def test_first_click_per_visitor_per_link_is_unique(client, workspace, link):
    hit(client, link)
    hit(client, link)
    hit(client, link, ua=BROWSER_UA + " other")
    hit(client, link, ip="198.51.100.1")
    second_link = Link.objects.create(workspace=workspace, offer=link.offer, member=link.member)
    hit(client, second_link)
    assert list(Click.objects.order_by("id").values_list("is_unique", flat=True)) == [True, False, True, True, True]


def test_the_unique_window_expires(client, link, monkeypatch):
    monkeypatch.setattr(buffer, "UNIQUE_WINDOW_SECONDS", 1)
    hit(client, link)
    hit(client, link)
    import time

    time.sleep(1.2)
    hit(client, link)
    assert list(Click.objects.order_by("id").values_list("is_unique", flat=True)) == [True, False, True]


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "curl/8.5.0",
        "python-requests/2.32.3",
        "",
    ],
)
def test_bots_are_redirected_but_flagged_and_never_unique(client, link, ua):
    response = hit(client, link, ua=ua)
    assert response.status_code == 302
    click = Click.objects.get()
    assert click.is_bot and not click.is_unique and not click.is_counted
    # A bot's visit does not use up the visitor's unique click.
    hit(client, link, ua=BROWSER_UA)
    assert Click.objects.order_by("id").last().is_unique


def test_head_requests_are_redirected_and_flagged_as_bots(client, link):
    response = hit(client, link, method="head")
    assert response.status_code == 302
    assert Click.objects.get().is_bot


def test_raw_ips_are_never_stored(client, link, settings):
    hit(client, link, ip="203.0.113.7")
    hit(client, link, ip="203.0.113.7", ua="Other/1.0")
    first, second = Click.objects.order_by("id")
    assert first.ip_hash == second.ip_hash == recording.hash_ip("203.0.113.7")
    assert len(first.ip_hash) == 64
    row = Click.objects.filter(pk=first.pk).values().get()
    assert not any("203.0.113.7" in str(value) for value in row.values())
    settings.IP_HASH_KEY = "another key"
    assert recording.hash_ip("203.0.113.7") != first.ip_hash


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.9", "10.0.0.1"),  # the header is ignored unless we are behind a proxy
        (1, "198.51.100.9", "198.51.100.9"),
        (1, "6.6.6.6, 198.51.100.9", "198.51.100.9"),  # a forged left entry is ignored
        (2, "6.6.6.6, 198.51.100.9, 10.0.0.2", "198.51.100.9"),
        (2, "198.51.100.9", "10.0.0.1"),  # fewer entries than proxies: not from our proxies
        (1, "not-an-ip", "10.0.0.1"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_forwarded_for_is_used_only_behind_trusted_proxies(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_ip({"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": forwarded}) == expected


def test_the_referrer_is_kept(client, link):
    client.get(f"/c/{link.code}", HTTP_USER_AGENT=BROWSER_UA, HTTP_REFERER="https://instagram.com/maya")
    assert Click.objects.get().referrer == "https://instagram.com/maya"


# --- offer state ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({"paused": True}, "paused"),
        ({"ends_at": timezone.now() - timedelta(days=1)}, "expired"),
        ({"starts_at": timezone.now() + timedelta(days=1)}, "scheduled"),
        ({"archived_at": timezone.now()}, "archived"),
    ],
)
def test_inactive_offers_record_a_flagged_click_and_send_to_the_fallback(client, link, changes, state):
    for field, value in changes.items():
        setattr(link.offer, field, value)
    link.offer.fallback_url = "https://shop.example/more-offers"
    link.offer.save()
    response = hit(client, link, url="https://shop.example/deep")
    assert response["Location"] == "https://shop.example/more-offers"
    click = Click.objects.get()
    assert click.offer_state == state
    assert click.destination == "https://shop.example/more-offers"


def test_without_a_fallback_an_inactive_offer_goes_to_the_offer_url_untracked(client, link):
    link.offer.paused = True
    link.offer.save(update_fields=["paused"])
    response = hit(client, link)
    assert response["Location"] == "https://shop.example/?tid=&aff=&utm_source=hub&utm_medium=affiliate"
    assert Click.objects.get().offer_state == "paused"


def test_archived_links_and_members_count_as_archived(client, link, settings):
    settings.CLICK_LINK_CACHE_SECONDS = 0
    link.archived_at = timezone.now()
    link.save(update_fields=["archived_at"])
    hit(client, link)
    link.archived_at = None
    link.save(update_fields=["archived_at"])
    link.member.status = Member.Status.ARCHIVED
    link.member.save(update_fields=["status"])
    hit(client, link)
    assert list(Click.objects.values_list("offer_state", flat=True)) == ["archived", "archived"]


# --- the bench endpoint ------------------------------------------------------------


def test_the_bench_redirect_exists_only_when_enabled(client, db, settings, django_assert_num_queries):
    settings.BENCH_ENDPOINTS = False
    assert client.get("/bench/302").status_code == 404
    settings.BENCH_ENDPOINTS = True
    with django_assert_num_queries(0):
        assert client.get("/bench/302").status_code == 302


@pytest.mark.parametrize("bad", ["\x00", "a\x00b", "\x1b[31m", "\x7f", "\t\r\n"])
def test_control_characters_never_reach_the_database(client, link, bad):
    response = hit(client, link, sub1=bad + "story", ua=BROWSER_UA + bad)
    assert response.status_code == 302
    click = Click.objects.get()
    kept = "".join(ch for ch in bad if ch.isprintable())
    assert (click.sub1, click.user_agent) == (kept + "story", BROWSER_UA + kept)


def test_c1_control_characters_are_dropped_from_sub_ids(client, link):
    hit(client, link, sub1="\u0085story\u009b")
    assert Click.objects.get().sub1 == "story"


def test_a_utf8_user_agent_is_read_as_utf8(client, link):
    # WSGI hands headers over as latin-1; the bytes of "é" must not turn into two characters.
    hit(client, link, ua=(BROWSER_UA + " é").encode().decode("latin-1"))
    assert Click.objects.get().user_agent == BROWSER_UA + " é"


def test_a_referrer_with_control_characters_is_cleaned(client, link):
    url = reverse("tracking:click", kwargs={"code": link.code})
    response = client.get(url, HTTP_USER_AGENT=BROWSER_UA, HTTP_REFERER="https://blog.example/\x00post\r\n")
    assert response.status_code == 302
    assert Click.objects.get().referrer == "https://blog.example/post"


IPHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
ANDROID_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0.0.0 Mobile Safari/537.36"


def test_phones_go_through_the_offers_url_for_their_system(client, workspace):
    link = make_link(
        workspace,
        ios_url="https://apps.brand.example/ios?tid={transaction_id}",
        android_url="https://apps.brand.example/android?tid={transaction_id}&aff={affiliate_id}",
    )
    iphone, android, desktop = (hit(client, link, ua=ua)["Location"] for ua in (IPHONE_UA, ANDROID_UA, BROWSER_UA))
    clicks = list(Click.objects.order_by("id"))
    assert iphone == f"https://apps.brand.example/ios?tid={clicks[0].transaction_id}"
    assert (
        android == f"https://apps.brand.example/android?tid={clicks[1].transaction_id}&aff={link.member.affiliate_id}"
    )
    assert desktop.startswith(f"https://shop.example/?tid={clicks[2].transaction_id}")
    assert [click.destination for click in clicks] == [iphone, android, desktop]


def test_a_phones_click_on_a_paused_offer_goes_to_the_fallback(client, workspace):
    link = make_link(
        workspace,
        ios_url="https://apps.brand.example/ios?tid={transaction_id}",
        paused=True,
        fallback_url="https://shop.example/more-offers",
    )
    assert hit(client, link, ua=IPHONE_UA)["Location"] == "https://shop.example/more-offers"
