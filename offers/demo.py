"""Demo project and members (see seed_demo)."""

from offers.models import Member, Project

DEMO_MEMBERS = [
    ("Ava Trails", "ava@creators.test", "@avatrails", False),
    ("Ben Summit", "ben@creators.test", "@bensummit", False),
    ("Cara Camps", "cara@creators.test", "@caracamps", False),
    ("Dev Rivers", "dev@creators.test", "@devrivers", False),
    ("Test Member", "test-member@demo.test", "@test", True),
]


def seed(ctx: dict) -> None:
    ws = ctx["workspace"]
    project, _ = Project.objects.get_or_create(
        workspace=ws, name="Spring Launch", defaults={"description": "Creators promoting the spring range."}
    )
    members = []
    for name, email, handle, is_test in DEMO_MEMBERS:
        member, _ = Member.objects.get_or_create(
            workspace=ws,
            email=email,
            defaults={
                "name": name,
                "handle": handle,
                "project": project,
                "is_test": is_test,
                "paypal_email": "" if email.startswith("dev@") else email,
            },
        )
        members.append(member)
    ctx["project"] = project
    ctx["members"] = members
    ctx["out"]["project"] = {"code": str(project.code), "name": project.name}
    ctx["out"]["members"] = [
        {"name": m.name, "affiliate_id": m.affiliate_id, "code": str(m.code), "is_test": m.is_test} for m in members
    ]
