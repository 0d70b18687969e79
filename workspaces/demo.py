"""Demo workspace and its team (see seeddemo)."""

from django.contrib.auth import get_user_model

from workspaces.models import Membership, Role, Workspace

DEMO_SLUG = "demo-brand"
DEMO_PASSWORD = "demo-password-1"
DEMO_USERS = [
    ("owner@demo.test", "Olivia Owner", Role.OWNER),
    ("manager@demo.test", "Manny Manager", Role.MANAGER),
    ("finance@demo.test", "Fiona Finance", Role.FINANCE),
]


def seed(ctx: dict) -> None:
    ws, _ = Workspace.objects.get_or_create(slug=DEMO_SLUG, defaults={"name": "Demo Outdoor Co", "currency": "USD"})
    users = []
    User = get_user_model()
    for email, name, role in DEMO_USERS:
        user, created = User.objects.get_or_create(username=email, defaults={"email": email, "first_name": name})
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        Membership.objects.update_or_create(workspace=ws, user=user, defaults={"role": role})
        users.append({"email": email, "password": DEMO_PASSWORD, "role": str(role)})
    ctx["workspace"] = ws
    ctx["users"] = {u["role"]: User.objects.get(username=u["email"]) for u in users}
    ctx["out"]["workspace"] = {"slug": ws.slug, "code": str(ws.code), "name": ws.name}
    ctx["out"]["users"] = users
    ctx["out"]["login_url"] = "/login/"
