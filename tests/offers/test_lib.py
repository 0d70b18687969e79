"""Unit tests of offers/lib.py: macros, UTM parameters, deep-link safety, destinations."""

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from offers import lib

ALLOWED = ["shop.example", "*.brand.example"]


# --- macros ---------------------------------------------------------------


def test_find_macros_lists_each_name_once_in_order():
    url = "https://n.example/?a={transaction_id}&b={affiliate_id}&c={transaction_id}&d={nope}"
    assert lib.find_macros(url) == ["transaction_id", "affiliate_id", "nope"]


def test_unknown_macros_names_only_the_unknown_ones():
    assert lib.unknown_macros("https://x.example/?a={sub1}&b={aff_sub}&c={Transaction_ID}") == [
        "aff_sub",
        "Transaction_ID",
    ]
    assert lib.unknown_macros("https://x.example/?a={sub5}&t={click_time}") == []


def test_missing_macros_follow_the_protocol():
    assert lib.missing_macros("https://x.example/", "server_postback_transaction_id") == ["transaction_id"]
    assert lib.missing_macros("https://x.example/?t={transaction_id}", "https_image_pixel") == []
    assert lib.missing_macros("https://x.example/?t={transaction_id}", "server_postback_affiliate_id") == [
        "affiliate_id"
    ]


def test_substitute_url_encodes_every_value():
    url = "https://n.example/c/1/2/3?subId1={transaction_id}&subId2={affiliate_id}&s={sub1}"
    out = lib.substitute(url, {"transaction_id": "abc", "affiliate_id": "m01", "sub1": "a b&c=d/é?#"})
    assert out == "https://n.example/c/1/2/3?subId1=abc&subId2=m01&s=a%20b%26c%3Dd%2F%C3%A9%3F%23"
    assert parse_qs(urlsplit(out).query)["s"] == ["a b&c=d/é?#"]


def test_substitute_blanks_known_macros_without_value_and_keeps_unknown_ones():
    out = lib.substitute("https://n.example/?a={sub2}&b={custom}&c={offer_id}", {"offer_id": None})
    assert out == "https://n.example/?a=&b={custom}&c="


def test_substitute_works_in_the_path_too():
    out = lib.substitute("https://n.example/r/{affiliate_id}/go", {"affiliate_id": "m/1"})
    assert out == "https://n.example/r/m%2F1/go"


def test_click_time_is_utc_iso_to_the_second():
    when = datetime(2026, 3, 1, 14, 5, 6, 789, tzinfo=timezone(timedelta(hours=2)))
    assert lib.format_click_time(when) == "2026-03-01T12:05:06Z"


# --- UTM ------------------------------------------------------------------


def test_append_utm_adds_only_missing_non_empty_params_in_a_stable_order():
    url = "https://shop.example/p?utm_source=newsletter&x=1#top"
    out = lib.append_utm(url, {"utm_source": "creator", "utm_medium": "affiliate", "utm_campaign": "", "utm_term": "t"})
    assert out == "https://shop.example/p?utm_source=newsletter&x=1&utm_medium=affiliate&utm_term=t#top"


def test_append_utm_without_a_query_or_params():
    assert lib.append_utm("https://shop.example/", {"utm_source": "hub"}) == "https://shop.example/?utm_source=hub"
    assert lib.append_utm("https://shop.example/?a=1", {}) == "https://shop.example/?a=1"


def test_append_utm_keeps_the_existing_query_byte_for_byte():
    url = "https://shop.example/?q=a%20b&empty=&raw=%2F"
    assert lib.append_utm(url, {"utm_medium": "x y"}) == url + "&utm_medium=x%20y"


def test_offer_utm_applies_link_overrides_for_utm_keys_only():
    offer = SimpleNamespace(utm_source="hub", utm_medium="affiliate", utm_campaign="", utm_content="", utm_term="")
    link = SimpleNamespace(utm_overrides={"utm_campaign": "spring", "utm_medium": "story", "evil": "x"})
    assert lib.offer_utm(offer, link) == {
        "utm_source": "hub",
        "utm_medium": "story",
        "utm_campaign": "spring",
        "utm_content": "",
        "utm_term": "",
    }


def test_add_tracking_params_per_network():
    assert (
        lib.add_tracking_params("https://brand.sjv.io/c/1/2/3", "impact")
        == "https://brand.sjv.io/c/1/2/3?subId1={transaction_id}&subId2={affiliate_id}"
    )
    assert (
        lib.add_tracking_params("https://www.shareasale.com/r.cfm?b=1&u=2&m=3", "shareasale")
        == "https://www.shareasale.com/r.cfm?b=1&u=2&m=3&afftrack={transaction_id}"
    )
    assert lib.add_tracking_params("https://www.awin1.com/cread.php?awinmid=1", "awin").endswith(
        "&clickref2={transaction_id}"
    )
    # Already there (any case): nothing is added twice.
    url = "https://brand.sjv.io/c/1/2/3?SubId1={transaction_id}&subId2={affiliate_id}"
    assert lib.add_tracking_params(url, "impact") == url
    assert lib.add_tracking_params("https://x.example/", "generic") == "https://x.example/"


# --- deep-link safety: modelled on Django's url_has_allowed_host_and_scheme tests ---

BAD_DESTINATIONS = [
    # Not an allowed host.
    "https://evil.example/",
    "https://shop.example.evil.example/",
    "https://evilshop.example/",
    "https://xbrand.example/",
    "https://brand.example/",  # "*.brand.example" allows subdomains only
    "https://shop.example@evil.example/",
    "https://shop.example:443@evil.example/",
    "https://user:pass@shop.example/",
    "https://evil.example#@shop.example",
    "https://evil.example?@shop.example",
    "https://evil.example/\\@shop.example",
    # Schemes and shapes that are not absolute http(s).
    "ftp://shop.example/",
    "javascript:alert(1)//shop.example",
    'javascript:alert("XSS")',
    "data:text/html,<script>alert(1)</script>",
    "//shop.example/",
    "///shop.example/",
    "/shop.example/",
    "shop.example/path",
    "http:///shop.example",
    "https:/shop.example",
    "https:shop.example",
    "http:999999999",
    # Backslashes, whitespace, control characters.
    r"\\shop.example",
    r"\\\evil.example",
    r"/\\/evil.example",
    r"\/evil.example",
    r"http:/\//evil.example",
    r"http:\/shop.example",
    r"http:\\shop.example\@evil.example",
    r"http://shop.example\@evil.example",
    r"http://shop.example\me:pass@evil.example",
    "https://shop.example\\.evil.example/",
    "\njavascript:alert(x)",
    "\x08//shop.example",
    " https://shop.example/",
    "https://shop.example/\n",
    "https://shop.example/a b",
    "https://shop.ex\tample/",
    "https://shop.example\x00.evil.example/",
    "\n",
    "",
    # Hosts that do not survive normalisation.
    "https://shop%2Eexample/",
    "https://sh%6fp.example/",
    "http://[2001:cdba:0000:0000:0000:0000:3257:9652/",
    "http://2001:cdba:0000:0000:0000:0000:3257:9652]/",
    "https://[::1]/",
    "https://shop.example:99999/",
    "https://shop.example:port/",
    "https://-shop.example/",
    "https://shop_example/",
    # Look-alikes: Cyrillic "о" and a punycode label of another host.
    "https://sh\u043ep.example/",
    "https://xn--shp-5cd.example/",
]

GOOD_DESTINATIONS = [
    ("https://shop.example/", "https://shop.example/"),
    ("HTTPS://SHOP.EXAMPLE/Sale?A=1", "https://shop.example/Sale?A=1"),
    ("http://shop.example/", "http://shop.example/"),
    ("https://shop.example:8443/x", "https://shop.example:8443/x"),
    ("https://shop.example./", "https://shop.example/"),
    ("https://shop.example/confirm?email=me@evil.example", "https://shop.example/confirm?email=me@evil.example"),
    ("https://shop.example/?next=https://evil.example", "https://shop.example/?next=https://evil.example"),
    ("https://shop.example/url%20with%20spaces/", "https://shop.example/url%20with%20spaces/"),
    ("https://shop.example/#frag", "https://shop.example/#frag"),
    ("https://eu.brand.example/p", "https://eu.brand.example/p"),
    ("https://a.b.brand.example/p", "https://a.b.brand.example/p"),
    # Full-width letters map to ASCII under IDNA (UTS 46), as browsers do; we redirect to the ASCII host.
    ("https://\uff53\uff48\uff4f\uff50.example/", "https://shop.example/"),
]


@pytest.mark.parametrize("url", BAD_DESTINATIONS)
def test_it_refuses_tricky_destinations(url):
    assert lib.is_allowed_destination(url, ALLOWED) is False
    assert lib.clean_destination(url, ALLOWED) is None


@pytest.mark.parametrize(("url", "cleaned"), GOOD_DESTINATIONS)
def test_it_allows_destinations_on_allowed_hosts(url, cleaned):
    assert lib.is_allowed_destination(url, ALLOWED) is True
    assert lib.clean_destination(url, ALLOWED) == cleaned


def test_it_allows_nothing_without_allowed_domains():
    assert lib.is_allowed_destination("https://shop.example/", []) is False


def test_internationalised_domains_compare_in_punycode():
    assert lib.is_allowed_destination("https://bücher.example/", ["xn--bcher-kva.example"])
    assert lib.is_allowed_destination("https://xn--bcher-kva.example/", ["BÜCHER.example"])
    assert lib.clean_destination("https://BÜCHER.example/x", ["bücher.example"]) == "https://xn--bcher-kva.example/x"


def test_allowed_domain_entries_are_normalised_and_bad_ones_ignored():
    assert lib.normalise_domain_entry(" Shop.Example ") == "shop.example"
    assert lib.normalise_domain_entry("*.Brand.example") == "*.brand.example"
    assert lib.normalise_domain_entry("*.com") is None
    assert lib.normalise_domain_entry("https://shop.example") is None
    assert lib.normalise_domain_entry("shop example") is None
    assert lib.is_allowed_destination("https://shop.example/", ["not a domain", "*", "shop.example"])
    assert not lib.is_allowed_destination("https://shop.example/", ["*"])


def test_parse_domain_list_accepts_lines_and_commas():
    assert lib.parse_domain_list("shop.example, *.brand.example\n\n  other.example  ") == [
        "shop.example",
        "*.brand.example",
        "other.example",
    ]


def test_detect_network_from_the_offer_url():
    assert lib.detect_network("https://brand.sjv.io/c/1924609/650971/10306") == "impact"
    assert lib.detect_network("https://www.shareasale.com/r.cfm?b=1&u=2&m=3") == "shareasale"
    assert lib.detect_network("https://www.awin1.com/cread.php?awinmid=1&awinaffid=2") == "awin"
    assert lib.detect_network("https://shop.example/landing") == "generic"


# --- destinations ---------------------------------------------------------

CLICK_TIME = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)


def make_offer(url, *, kind=None, allowed="shop.example", ios_url="", android_url="", **utm):
    connection = SimpleNamespace(kind=kind) if kind else None
    return SimpleNamespace(
        code="0b6f7c1e-5d1a-4c7e-9a51-2f0f3a9d8e11",
        offer_url=url,
        ios_url=ios_url,
        android_url=android_url,
        fallback_url="",
        connection=connection,
        connection_id=1 if kind else None,
        allowed_domains=allowed,
        utm_source=utm.get("utm_source", ""),
        utm_medium=utm.get("utm_medium", ""),
        utm_campaign=utm.get("utm_campaign", ""),
        utm_content="",
        utm_term="",
    )


def make_link(destination_url="", **subs):
    fields = {f"sub{i}": subs.get(f"sub{i}", "") for i in range(1, 6)}
    return SimpleNamespace(destination_url=destination_url, utm_overrides={}, **fields)


MEMBER = SimpleNamespace(affiliate_id="m0123456789")


def build(offer, link=None, deep_url=None, subs=None):
    return lib.build_destination(offer, link or make_link(), MEMBER, "tx123", CLICK_TIME, deep_url=deep_url, subs=subs)


def query(url):
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def test_build_destination_substitutes_all_macros_and_appends_utm():
    offer = make_offer(
        "https://shop.example/?t={transaction_id}&a={affiliate_id}&o={offer_id}&s={sub1}&when={click_time}",
        utm_source="hub",
    )
    out = build(offer, make_link(sub1="story"))
    assert query(out) == {
        "t": ["tx123"],
        "a": ["m0123456789"],
        "o": ["0b6f7c1e-5d1a-4c7e-9a51-2f0f3a9d8e11"],
        "s": ["story"],
        "when": ["2026-01-15T12:00:00Z"],
        "utm_source": ["hub"],
    }


def test_click_time_subs_override_the_links():
    offer = make_offer("https://shop.example/?s1={sub1}&s2={sub2}")
    out = build(offer, make_link(sub1="link", sub2="kept"), subs={"sub1": "click"})
    assert query(out) == {"s1": ["click"], "s2": ["kept"]}


def test_impact_deep_link_goes_in_u_with_utm_on_the_landing_page():
    offer = make_offer(
        "https://brand.sjv.io/c/1/2/3?subId1={transaction_id}&subId2={affiliate_id}",
        kind="impact",
        utm_source="hub",
    )
    out = build(offer, deep_url="https://shop.example/p?id=9")
    assert out.startswith("https://brand.sjv.io/c/1/2/3?subId1=tx123&subId2=m0123456789&u=")
    assert query(out)["u"] == ["https://shop.example/p?id=9&utm_source=hub"]


def test_shareasale_deep_link_replaces_urllink_without_scheme():
    offer = make_offer(
        "https://www.shareasale.com/r.cfm?b=1&u=2&m=3&urllink=old.example&afftrack={transaction_id}",
        kind="shareasale",
    )
    out = build(offer, deep_url="https://shop.example/p?id=9&c=1")
    assert "old.example" not in out
    assert "urllink=shop.example/p%3Fid%3D9%26c%3D1" in out
    assert query(out)["afftrack"] == ["tx123"]
    assert query(out)["urllink"] == ["shop.example/p?id=9&c=1"]


def test_awin_deep_link_goes_in_ued():
    offer = make_offer("https://www.awin1.com/cread.php?awinmid=1&awinaffid=2&clickref2={transaction_id}", kind="awin")
    out = build(offer, deep_url="https://shop.example/p")
    assert query(out)["ued"] == ["https://shop.example/p"]
    assert query(out)["clickref2"] == ["tx123"]


def test_generic_deep_link_replaces_the_landing_url_and_keeps_tracking_params():
    offer = make_offer("https://shop.example/?tid={transaction_id}&ref=static", utm_medium="affiliate")
    out = build(offer, deep_url="https://shop.example/sale/shoes?colour=red&tid=forged")
    parts = urlsplit(out)
    assert parts.path == "/sale/shoes"
    # Our transaction id wins over one the deep link brings; static offer params stay behind.
    assert query(out) == {"colour": ["red"], "utm_medium": ["affiliate"], "tid": ["tx123"]}


def test_a_deep_link_to_another_host_falls_back_to_the_offer_url():
    offer = make_offer("https://shop.example/?tid={transaction_id}")
    assert build(offer, deep_url="https://evil.example/") == "https://shop.example/?tid=tx123"
    assert build(offer, deep_url="//evil.example/") == "https://shop.example/?tid=tx123"


def test_the_links_destination_is_used_when_allowed():
    offer = make_offer("https://shop.example/?tid={transaction_id}")
    assert build(offer, make_link("https://shop.example/new")) == "https://shop.example/new?tid=tx123"
    # A ?url= deep link beats the link's destination; a disallowed link destination is ignored.
    assert build(offer, make_link("https://shop.example/new"), "https://shop.example/b") == (
        "https://shop.example/b?tid=tx123"
    )
    assert build(offer, make_link("https://evil.example/")) == "https://shop.example/?tid=tx123"


def test_network_is_detected_when_no_connection_is_set():
    offer = make_offer("https://brand.sjv.io/c/1/2/3?subId1={transaction_id}")
    assert query(build(offer, deep_url="https://shop.example/p"))["u"] == ["https://shop.example/p"]


def test_inactive_offer_goes_to_the_fallback_or_the_untracked_offer_url():
    offer = make_offer("https://shop.example/?tid={transaction_id}", utm_source="hub")
    assert lib.build_inactive_destination(offer) == "https://shop.example/?tid=&utm_source=hub"
    offer.fallback_url = "https://shop.example/ended"
    assert lib.build_inactive_destination(offer) == "https://shop.example/ended"


def test_preview_uses_sample_values_and_checks_the_deep_link():
    out = lib.preview_destination(
        offer_url="https://brand.sjv.io/c/1/2/3?subId1={transaction_id}&subId2={affiliate_id}",
        utm={"utm_source": "hub"},
        allowed_domains="shop.example",
        deep_url="https://shop.example/x",
    )
    assert query(out)["subId1"] == [lib.SAMPLE_VALUES["transaction_id"]]
    assert query(out)["u"] == ["https://shop.example/x?utm_source=hub"]
    with pytest.raises(ValueError, match="allowed domains"):
        lib.preview_destination(
            offer_url="https://shop.example/", allowed_domains="shop.example", deep_url="https://e.x/"
        )


@pytest.mark.parametrize(
    "offer_url",
    [
        "https://shop.test/p?subId1={transaction_id}&subId2={affiliate_id}",
        "https://shop.test/p?utm_source=keep&t={transaction_id}#frag-{sub1}",
        "https://shop.test/{sub1}/p?a=1&t={transaction_id}",
        "https://shop.test/p?{sub1}=x&t={transaction_id}",  # a macro in a key: the long way
    ],
)
def test_the_cached_template_gives_the_same_url_as_substituting_first(offer_url):
    from offers.lib import append_utm, compose_destination, substitute

    values = {"transaction_id": "abc123", "affiliate_id": "m&1=2", "sub1": "utm_medium=x&y"}
    utm = {"utm_source": "hub", "utm_medium": "aff {transaction_id}", "utm_campaign": "spring"}
    expected = append_utm(substitute(offer_url, values), utm)
    assert compose_destination(offer_url=offer_url, network="generic", values=values, utm=utm) == expected


# --- device targeting -------------------------------------------------------------

IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
IPAD_UA = "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile "
    "Safari/537.36"
)
DESKTOP_UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15"


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [(IPHONE_UA, "ios"), (IPAD_UA, "ios"), (ANDROID_UA, "android"), (DESKTOP_UA, ""), ("", "")],
)
def test_device_of_a_user_agent(user_agent, device):
    assert lib.device_of(user_agent) == device


def device_offer():
    return make_offer(
        "https://brand.sjv.io/c/1/2/3?subId1={transaction_id}",
        kind="impact",
        ios_url="https://brand.sjv.io/c/1/2/4?subId1={transaction_id}&subId2={affiliate_id}",
        android_url="https://brand.sjv.io/c/1/2/5?subId1={transaction_id}",
        utm_source="hub",
    )


def click_from(offer, user_agent, deep_url=None):
    return lib.build_destination(
        offer, make_link(), MEMBER, "tid42", CLICK_TIME, deep_url=deep_url, user_agent=user_agent
    )


def test_a_phone_goes_through_the_offers_url_for_its_system():
    offer = device_offer()
    assert click_from(offer, IPHONE_UA) == "https://brand.sjv.io/c/1/2/4?subId1=tid42&subId2=m0123456789&utm_source=hub"
    assert click_from(offer, ANDROID_UA) == "https://brand.sjv.io/c/1/2/5?subId1=tid42&utm_source=hub"
    assert click_from(offer, DESKTOP_UA) == "https://brand.sjv.io/c/1/2/3?subId1=tid42&utm_source=hub"


def test_a_system_without_its_own_url_uses_the_offer_url():
    offer = device_offer()
    offer.android_url = ""
    assert click_from(offer, ANDROID_UA) == "https://brand.sjv.io/c/1/2/3?subId1=tid42&utm_source=hub"


def test_a_deep_link_goes_through_the_offer_url_on_a_phone_too():
    offer = device_offer()
    destination = click_from(offer, IPHONE_UA, deep_url="https://shop.example/boots")
    assert destination.startswith("https://brand.sjv.io/c/1/2/3?subId1=tid42&u=")
