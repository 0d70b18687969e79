from offers import demo, services
from offers.models import Link, NetworkConnection, Offer
from workspaces import demo as workspaces_demo


def seed():
    ctx = {"out": {}}
    workspaces_demo.seed(ctx)
    demo.seed(ctx)
    return ctx


def test_it_seeds_offers_connections_and_a_link_per_member_and_offer(db, settings):
    settings.SITE_URL = "https://go.demo.test"
    ctx = seed()
    ws = ctx["workspace"]
    assert set(ctx["connections"]) == {"impact", "shareasale"}
    assert {o.connection.kind if o.connection else None for o in ctx["offers"]} == {"impact", "shareasale", None}
    assert len(ctx["links"]) == len(ctx["offers"]) * len(ctx["members"])
    first = ctx["out"]["links"][0]
    assert first["url"].startswith("https://go.demo.test/c/") and first["member"] and first["offer"]
    assert Link.objects.filter(workspace=ws).count() == len(ctx["links"])
    for offer in ctx["offers"]:
        # The demo offers obey the same rules as the form.
        values = {name: getattr(offer, name) for name in services.OFFER_FIELDS}
        assert services.offer_problems(values) == {}, offer.name


def test_it_is_idempotent(db):
    first = seed()
    second = seed()
    assert [link.pk for link in first["links"]] == [link.pk for link in second["links"]]
    assert Offer.objects.count() == 3
    assert NetworkConnection.objects.count() == 2
    assert first["out"]["links"] == second["out"]["links"]
