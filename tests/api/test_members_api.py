from offers.models import Member, Project


def test_it_creates_a_member(api, workspace):
    project = Project.objects.create(workspace=workspace, name="Spring")
    r = api.post(
        "/api/v1/members/create/", {"name": "Ava", "email": "AVA@x.test", "project": str(project.code)}, format="json"
    )
    assert r.status_code == 201, r.json()
    member = Member.objects.get(code=r.json()["code"])
    assert member.workspace == workspace
    assert member.project == project
    assert r.json()["affiliate_id"] == member.affiliate_id


def test_it_refuses_a_duplicate_email(api, workspace):
    Member.objects.create(workspace=workspace, name="Ava", email="ava@x.test")
    r = api.post("/api/v1/members/create/", {"name": "Ava 2", "email": "ava@x.test"}, format="json")
    assert r.status_code == 422
    assert "ava@x.test" in r.json()["error"]


def test_bulk_create_reports_each_item(api, workspace, other_workspace):
    theirs = Project.objects.create(workspace=other_workspace, name="Theirs")
    items = [
        {"name": "One", "email": "one@x.test"},
        {"name": "Two", "email": "one@x.test"},
        {"name": "Three", "project": str(theirs.code)},
        {"name": "Four", "email": None},
    ]
    r = api.post("/api/v1/members/bulk-create/", {"members": items}, format="json")
    assert r.status_code == 201
    body = r.json()
    assert [m["name"] for m in body["created"]] == ["One", "Four"]
    assert body["created"][1]["email"] is None
    errors = {e["index"]: e for e in body["errors"]}
    assert set(errors) == {1, 2}
    assert "one@x.test" in errors[1]["error"]
    assert errors[2]["fields"] == {"project": ["Not found."]}
    assert Member.objects.filter(workspace=workspace).count() == 2


def test_bulk_create_refuses_the_whole_request_when_an_item_breaks_the_schema(api, workspace):
    items = [{"name": "One"}, {"name": "", "email": "not-an-email"}, {"name": "Two", "nickname": "x"}]
    r = api.post("/api/v1/members/bulk-create/", {"members": items}, format="json")
    assert r.status_code == 400
    fields = r.json()["fields"]["members"]
    assert set(fields) == {"1", "2"}
    assert set(fields["1"]) == {"name", "email"}
    assert fields["2"] == {"nickname": ["Unknown field."]}
    assert not Member.objects.exists()


def test_bulk_create_with_nothing_created_is_a_422(api, workspace):
    Member.objects.create(workspace=workspace, name="Ava", email="ava@x.test")
    r = api.post("/api/v1/members/bulk-create/", {"members": [{"name": "Ava 2", "email": "ava@x.test"}]}, format="json")
    assert r.status_code == 422
    assert r.json()["created"] == []
    assert [e["index"] for e in r.json()["errors"]] == [0]


def test_bulk_create_is_limited_to_500(api, workspace):
    r = api.post("/api/v1/members/bulk-create/", {"members": [{"name": f"M{i}"} for i in range(501)]}, format="json")
    assert r.status_code == 400
    assert "members" in r.json()["fields"]
    assert not Member.objects.exists()
    r = api.post("/api/v1/members/bulk-create/", {"members": "nope"}, format="json")
    assert r.status_code == 400


def test_it_lists_members_with_filters_and_a_cursor(api, workspace):
    project = Project.objects.create(workspace=workspace, name="Spring")
    for i in range(5):
        Member.objects.create(workspace=workspace, name=f"M{i}", project=project if i % 2 else None)
    r = api.get("/api/v1/members/", {"limit": 2})
    page1 = r.json()
    assert len(page1["results"]) == 2
    r = api.get(page1["next"])
    page2 = r.json()
    assert len(page2["results"]) == 2
    assert not {m["code"] for m in page1["results"]} & {m["code"] for m in page2["results"]}
    r = api.get("/api/v1/members/", {"project": str(project.code)})
    assert {m["name"] for m in r.json()["results"]} == {"M1", "M3"}
    assert api.get("/api/v1/members/", {"status": "gone"}).status_code == 400
    r = api.get("/api/v1/members/", {"cursor": "garbage"})
    assert r.status_code == 422
    assert r.json()["fields"] == {"cursor": ["Invalid cursor."]}


def test_it_checks_ownership(api, other_api, workspace):
    member = Member.objects.create(workspace=workspace, name="Ava")
    assert api.get(f"/api/v1/members/{member.code}/").status_code == 200
    assert other_api.get(f"/api/v1/members/{member.code}/").status_code == 404
    assert other_api.get("/api/v1/members/").json()["results"] == []


def test_a_member_is_changed_field_by_field(api, workspace, other_workspace):
    project = Project.objects.create(workspace=workspace, name="Spring")
    member = Member.objects.create(workspace=workspace, name="Ava", email="ava@x.test", handle="@ava")
    url = f"/api/v1/members/{member.code}/"
    r = api.patch(url, {"project": str(project.code), "paypal_email": "Ava@PayPal.test "}, format="json")
    assert r.status_code == 200, r.json()
    member.refresh_from_db()
    assert (member.project, member.handle, member.name) == (project, "@ava", "Ava")
    assert member.paypal_email.strip().lower() == "ava@paypal.test"
    theirs = Project.objects.create(workspace=other_workspace, name="Theirs")
    r = api.patch(url, {"project": str(theirs.code)}, format="json")
    assert r.status_code == 422 and r.json()["fields"] == {"project": ["Not found."]}


def test_a_change_to_an_email_in_use_changes_nothing(api, workspace):
    Member.objects.create(workspace=workspace, name="Ben", email="ben@x.test")
    member = Member.objects.create(workspace=workspace, name="Ava", email="ava@x.test")
    r = api.patch(f"/api/v1/members/{member.code}/", {"email": "BEN@x.test", "name": "Ava B"}, format="json")
    assert r.status_code == 422 and "ben@x.test" in r.json()["error"]
    member.refresh_from_db()
    assert (member.email, member.name) == ("ava@x.test", "Ava")
    assert api.patch(f"/api/v1/members/{member.code}/", {"name": ""}, format="json").status_code == 400


def test_another_workspaces_key_cannot_change_a_member(api, other_api, workspace):
    member = Member.objects.create(workspace=workspace, name="Ava")
    r = other_api.patch(f"/api/v1/members/{member.code}/", {"name": "Mine"}, format="json")
    assert r.status_code == 404 and r.json() == {"error": "Not found."}
    member.refresh_from_db()
    assert member.name == "Ava"
