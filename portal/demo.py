"""Demo member portal (see seeddemo): Ava Trails can sign in; her one-time link is printed.

Each run issues a fresh invitation link (7 days, works once); older ones keep working
until used or expired.
"""

from portal.models import Person, PortalAccess, PortalSettings, SignInLink
from portal.services import issue_sign_in_link

DEMO_MEMBER = "Ava Trails"


def seed(ctx: dict) -> None:
    ws = ctx["workspace"]
    member = next((m for m in ctx.get("members") or [] if m.name == DEMO_MEMBER), None)
    if member is None or not member.email:
        return
    person, _ = Person.objects.get_or_create(email=member.email.lower())
    access, _ = PortalAccess.objects.get_or_create(member=member, defaults={"workspace": ws, "person": person})
    PortalSettings.objects.get_or_create(workspace=ws)
    url = issue_sign_in_link(access=access, purpose=SignInLink.Purpose.INVITATION)
    ctx["out"]["portal"] = {"member": member.name, "email": access.person.email, "sign_in_url": url}
