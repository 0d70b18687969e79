from offers.models import Link, Member, Offer


def make(workspace):
    offer = Offer.objects.create(workspace=workspace, name="Boots", offer_url="https://shop.test/?t={transaction_id}")
    member = Member.objects.create(workspace=workspace, name="Ava")
    return offer, member


def test_it_creates_a_link_once(api, workspace):
    offer, member = make(workspace)
    body = {"offer": str(offer.code), "member": str(member.code)}
    r = api.post("/api/v1/links/create/", body, format="json")
    assert r.status_code == 201, r.json()
    link = Link.objects.get(code=r.json()["code"])
    assert (link.offer, link.member) == (offer, member)
    assert r.json()["url"].endswith(f"/c/{link.code}")
    again = api.post("/api/v1/links/create/", body, format="json")
    assert again.status_code == 200
    assert again.json()["code"] == link.code
    with_sub = api.post("/api/v1/links/create/", {**body, "sub1": "ig-story"}, format="json")
    assert with_sub.status_code == 201
    assert Link.objects.count() == 2


def test_it_refuses_other_workspaces_objects(api, workspace, other_workspace):
    offer, _ = make(workspace)
    _, their_member = make(other_workspace)
    r = api.post("/api/v1/links/create/", {"offer": str(offer.code), "member": str(their_member.code)}, format="json")
    # Well-formed, but the code is not in this workspace: a rule refuses it, not the schema.
    assert r.status_code == 422
    assert r.json()["fields"] == {"member": ["Not found."]}
    assert not Link.objects.exists()


def test_it_validates(api, workspace):
    r = api.post("/api/v1/links/create/", {"offer": "x"}, format="json")
    assert r.status_code == 400
    assert set(r.json()["fields"]) == {"offer", "member"}


def test_it_lists_links(api, other_api, workspace):
    offer, member = make(workspace)
    other = Member.objects.create(workspace=workspace, name="Ben")
    Link.objects.create(workspace=workspace, offer=offer, member=member)
    Link.objects.create(workspace=workspace, offer=offer, member=other)
    assert len(api.get("/api/v1/links/").json()["results"]) == 2
    r = api.get("/api/v1/links/", {"member": str(member.code)})
    assert [link["member"] for link in r.json()["results"]] == [str(member.code)]
    assert other_api.get("/api/v1/links/").json()["results"] == []
    assert other_api.get("/api/v1/links/", {"offer": str(offer.code)}).status_code == 422
