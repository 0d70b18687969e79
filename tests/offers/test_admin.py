import pytest
from django.urls import reverse


@pytest.mark.parametrize("model", ["project", "member", "offer", "link", "networkconnection"])
def test_the_admin_lists_and_opens_each_model(client, django_user_model, link, impact, model):
    admin = django_user_model.objects.create_superuser("root", "root@x.test", "pw-123456789")
    client.force_login(admin)
    assert client.get(reverse(f"admin:offers_{model}_changelist")).status_code == 200
    obj = {"project": link.member.project, "member": link.member, "offer": link.offer, "link": link}.get(model, impact)
    r = client.get(reverse(f"admin:offers_{model}_change", args=[obj.pk]))
    assert r.status_code == 200
    if model == "networkconnection":
        assert impact.postback_secret.encode() not in r.content
