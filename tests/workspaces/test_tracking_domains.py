"""Custom tracking domains: DNS verification, host-based click resolution, the TLS proxy's ask, the page."""

import pytest
from django.urls import reverse
from django.utils import timezone

from offers.models import Link
from tests.conftest import set_role
from tests.tracking.test_redirect import BROWSER_UA, make_link
from workspaces import domains
from workspaces.errors import DomainError
from workspaces.models import TrackingDomain


@pytest.fixture(autouse=True)
def _hosts(settings):
    # The hub's own host, and tracking domains admitted by wildcard (as in production behind the proxy).
    settings.ALLOWED_HOSTS = ["testserver", ".brand.test", ".other.test", "unknown.example"]
    settings.SITE_URL = "https://hub.example"
    settings.CLICK_BUFFER = "direct"
    settings.TRUSTED_PROXY_COUNT = 0
    domains.forget_cached_domains()
    yield
    domains.forget_cached_domains()


def verified(workspace, host, *, primary=False):
    return TrackingDomain.objects.create(workspace=workspace, host=host, verified_at=timezone.now(), is_primary=primary)


def click(client, link, host):
    return client.get(f"/c/{link.code}", HTTP_HOST=host, HTTP_USER_AGENT=BROWSER_UA, REMOTE_ADDR="203.0.113.9")


def test_a_domain_is_verified_by_its_txt_record(workspace):
    domain = domains.add_tracking_domain(workspace=workspace, host="Go.Brand.test")
    assert domain.host == "go.brand.test"
    assert not domains.verify_tracking_domain(domain=domain, lookup=lambda name: ["v=spf1 -all"])
    assert domain.verified_at is None and "No TXT record" in domain.check_message
    seen = []

    def lookup(name):
        seen.append(name)
        return ["other", domain.txt_value]

    assert domains.verify_tracking_domain(domain=domain, lookup=lookup)
    assert seen == ["_hub-verify.go.brand.test"]
    domain.refresh_from_db()
    assert domain.verified_at is not None


def test_a_dns_failure_is_reported_not_raised(workspace):
    domain = domains.add_tracking_domain(workspace=workspace, host="go.brand.test")

    def broken(name):
        raise DomainError("The DNS lookup failed (Timeout); try again later.")

    assert not domains.verify_tracking_domain(domain=domain, lookup=broken)
    assert "Timeout" in domain.check_message


@pytest.mark.parametrize("host", ["", "localhost", "https://", "a..b", "-x.brand.test", "10.0.0.1", "hub.example"])
def test_it_refuses_what_is_not_a_domain_of_its_own(workspace, host):
    with pytest.raises(DomainError):
        domains.add_tracking_domain(workspace=workspace, host=host)


def test_a_domain_belongs_to_one_workspace(workspace, other_workspace):
    domains.add_tracking_domain(workspace=workspace, host="go.brand.test")
    with pytest.raises(DomainError, match="already added"):
        domains.add_tracking_domain(workspace=other_workspace, host="GO.brand.test")


def test_clicks_resolve_by_host_and_code(client, workspace, other_workspace):
    ours = make_link(workspace)
    theirs = make_link(other_workspace)
    verified(workspace, "go.brand.test")
    verified(other_workspace, "go.other.test")
    assert click(client, ours, "go.brand.test").status_code == 302
    # Another workspace's code on our domain is unknown there.
    assert click(client, theirs, "go.brand.test").status_code == 404
    assert click(client, theirs, "go.other.test").status_code == 302
    # The hub's own host serves every workspace's links.
    assert click(client, theirs, "testserver").status_code == 302
    assert click(client, ours, "testserver").status_code == 302


def test_an_unverified_domain_serves_like_the_hub(client, workspace, other_workspace):
    TrackingDomain.objects.create(workspace=workspace, host="go.brand.test")
    theirs = make_link(other_workspace)
    assert click(client, theirs, "go.brand.test").status_code == 302


def test_a_click_on_the_hubs_own_host_runs_no_domain_query(client, workspace, django_assert_num_queries):
    link = make_link(workspace)
    with django_assert_num_queries(2):  # the link, the click
        assert click(client, link, "testserver").status_code == 302


def test_links_are_shown_with_the_primary_domain(workspace):
    link = make_link(workspace)
    assert link.url == f"https://hub.example/c/{link.code}"
    domain = verified(workspace, "go.brand.test")
    domains.make_primary(domain=domain)
    link = Link.objects.get(pk=link.pk)
    assert link.url == f"https://go.brand.test/c/{link.code}"


def test_only_a_verified_domain_can_be_primary(workspace):
    domain = domains.add_tracking_domain(workspace=workspace, host="go.brand.test")
    with pytest.raises(DomainError, match="Verify"):
        domains.make_primary(domain=domain)


def test_the_ask_endpoint_answers_only_for_verified_domains(client, workspace):
    verified(workspace, "go.brand.test")
    TrackingDomain.objects.create(workspace=workspace, host="new.brand.test")
    assert client.get("/tls/ask", {"domain": "go.brand.test"}).status_code == 200
    assert client.get("/tls/ask", {"domain": "GO.BRAND.TEST"}).status_code == 200
    for host in ("new.brand.test", "unknown.example", "hub.example", "", "not a host"):
        assert client.get("/tls/ask", {"domain": host}).status_code == 404, host


def test_the_settings_page_adds_and_verifies_and_removes(alice_client, workspace, monkeypatch):
    response = alice_client.post(reverse("workspaces:add_domain"), {"host": "go.brand.test"})
    assert response.status_code == 302
    domain = TrackingDomain.objects.get()
    page = alice_client.get(reverse("workspaces:settings")).content.decode()
    assert domain.txt_name in page and domain.txt_value in page
    monkeypatch.setattr(domains, "txt_records", lambda name: [domain.txt_value])
    alice_client.post(reverse("workspaces:verify_domain", kwargs={"code": domain.code}))
    domain.refresh_from_db()
    assert domain.verified_at is not None
    alice_client.post(reverse("workspaces:make_primary_domain", kwargs={"code": domain.code}))
    domain.refresh_from_db()
    assert domain.is_primary
    alice_client.post(reverse("workspaces:remove_domain", kwargs={"code": domain.code}))
    assert not TrackingDomain.objects.exists()


def test_only_owners_manage_domains(bob_client, bob, workspace):
    set_role(bob, workspace, "manager")
    domain = TrackingDomain.objects.create(workspace=workspace, host="go.brand.test")
    assert bob_client.post(reverse("workspaces:add_domain"), {"host": "x.brand.test"}).status_code == 403
    assert bob_client.post(reverse("workspaces:remove_domain", kwargs={"code": domain.code})).status_code == 403
    assert TrackingDomain.objects.count() == 1
