import json

from django.core.management import call_command

from offers.models import Member
from workspaces.models import Membership, Workspace


def test_it_is_idempotent_and_prints_json(db, capsys):
    call_command("seeddemo")
    printed = capsys.readouterr().out
    assert "Member portal: Ava Trails (ava@creators.test) signs in at " in printed
    call_command("seeddemo", "--json")
    out = json.loads(capsys.readouterr().out)
    assert Workspace.objects.filter(slug="demo-brand").count() == 1
    ws = Workspace.objects.get(slug="demo-brand")
    assert out["workspace"]["slug"] == "demo-brand"
    roles = {u["role"] for u in out["users"]}
    assert roles == {"owner", "manager", "finance"}
    assert Membership.objects.filter(workspace=ws).count() == 3
    assert Member.objects.filter(workspace=ws, is_test=True).count() == 1
    assert len(out["members"]) == Member.objects.filter(workspace=ws).count()


def test_the_demo_dashboard_has_figures_right_after_seeding(client, db):
    from django.contrib.auth import get_user_model

    call_command("seeddemo")
    client.force_login(get_user_model().objects.get(username="owner@demo.test"))
    r = client.get("/dashboard/")
    assert r.status_code == 200
    assert r.context["current"]["clicks"] > 0
