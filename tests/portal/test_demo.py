"""The demo gives Ava Trails a portal login; seeddemo prints her one-time link."""

from urllib.parse import urlsplit

from django.urls import reverse

from offers.models import Member
from portal import demo
from portal.access import ACCESS_KEY
from portal.models import PortalAccess


def test_the_demo_link_signs_ava_in(client, workspace):
    ava = Member.objects.create(workspace=workspace, name="Ava Trails", email="ava@creators.test")
    ctx = {"workspace": workspace, "members": [ava], "out": {}}
    demo.seed(ctx)
    demo.seed(ctx)  # idempotent: one login, a fresh link each run
    assert PortalAccess.objects.filter(member=ava).count() == 1
    out = ctx["out"]["portal"]
    assert (out["member"], out["email"]) == ("Ava Trails", "ava@creators.test")
    r = client.post(urlsplit(out["sign_in_url"]).path)
    assert r.status_code == 302 and r["Location"] == reverse("portal:home")
    assert client.session[ACCESS_KEY] == PortalAccess.objects.get(member=ava).pk
