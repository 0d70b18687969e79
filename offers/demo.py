"""Demo project, members, network connections, offers and links (see seeddemo).

Adds to ctx: "project", "members" (list), "connections" (dict by kind: "impact", "shareasale"),
"offers" (list) and "links" (list, one plain link per member and offer).
"""

from decimal import Decimal

from offers.models import Link, Member, NetworkConnection, Offer, Project

DEMO_MEMBERS = [
    ("Ava Trails", "ava@creators.test", "@avatrails", False),
    ("Ben Summit", "ben@creators.test", "@bensummit", False),
    ("Cara Camps", "cara@creators.test", "@caracamps", False),
    ("Dev Rivers", "dev@creators.test", "@devrivers", False),
    ("Test Member", "test-member@demo.test", "@test", True),
]

DEMO_CONNECTIONS = [
    # (kind, label, settlement day): Impact pays on the 1st, ShareASale on the 20th.
    ("impact", "Impact (demo)", 1),
    ("shareasale", "ShareASale (demo)", 20),
]

DEMO_OFFERS = [
    {
        "name": "Trail Tents via Impact",
        "connection": "impact",
        "description": "Two-person and family tents. Impact tracking link with our ids in subId1/subId2.",
        "protocol": "https_image_pixel",
        "payout_type": "percent",
        "payout_percent": Decimal("10"),
        "offer_url": "https://demo-outdoor.sjv.io/c/1234567/890123/4567?subId1={transaction_id}&subId2={affiliate_id}",
        "allowed_domains": "www.demo-outdoor.test\n*.demo-outdoor.test",
        "utm_source": "hub",
        "utm_medium": "affiliate",
        "utm_campaign": "spring-tents",
        "fallback_url": "https://www.demo-outdoor.test/tents",
    },
    {
        "name": "Camp Stoves via ShareASale",
        "connection": "shareasale",
        "description": "Stoves and cookware. ShareASale echoes our transaction id as afftrack.",
        "protocol": "server_postback_transaction_id",
        "payout_type": "flat_percent",
        "payout_flat": Decimal("2.00"),
        "payout_percent": Decimal("5"),
        "offer_url": "https://shareasale.com/r.cfm?b=1234567&u=2345678&m=34567&afftrack={transaction_id}",
        "allowed_domains": "www.demo-outdoor.test",
        "utm_source": "hub",
        "utm_medium": "affiliate",
        "utm_campaign": "stoves",
        "fallback_url": "https://www.demo-outdoor.test/stoves",
    },
    {
        "name": "Newsletter Sign-up",
        "connection": None,
        "description": "Direct offer on our own site: a flat payout per sign-up.",
        "conversion_type": "signup",
        "protocol": "server_postback_transaction_id",
        "payout_type": "flat",
        "payout_flat": Decimal("1.50"),
        "offer_url": "https://www.demo-outdoor.test/newsletter?tid={transaction_id}&aff={affiliate_id}",
        # Device targeting: phones sign up in the app.
        "ios_url": "https://app.demo-outdoor.test/ios/signup?tid={transaction_id}&aff={affiliate_id}",
        "android_url": "https://app.demo-outdoor.test/android/signup?tid={transaction_id}&aff={affiliate_id}",
        "utm_source": "hub",
        "utm_medium": "affiliate",
        "utm_campaign": "newsletter",
    },
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

    connections = {}
    for kind, label, settlement_day in DEMO_CONNECTIONS:
        connections[kind], _ = NetworkConnection.objects.get_or_create(
            workspace=ws, kind=kind, label=label, defaults={"currency": ws.currency, "settlement_day": settlement_day}
        )

    offers = []
    for spec in DEMO_OFFERS:
        fields = dict(spec)
        kind = fields.pop("connection")
        fields["connection"] = connections[kind] if kind else None
        offer, _ = Offer.objects.get_or_create(
            workspace=ws, name=fields.pop("name"), defaults={**fields, "currency": ws.currency}
        )
        offers.append(offer)

    links = []
    for offer in offers:
        for member in members:
            link = Link.objects.filter(
                workspace=ws, offer=offer, member=member, vanity=None, destination_url="", archived_at=None
            ).first()
            if link is None:
                link = Link.objects.create(workspace=ws, offer=offer, member=member)
            links.append(link)

    ctx["project"] = project
    ctx["members"] = members
    ctx["connections"] = connections
    ctx["offers"] = offers
    ctx["links"] = links
    ctx["out"]["project"] = {"code": str(project.code), "name": project.name}
    ctx["out"]["members"] = [
        {"name": m.name, "affiliate_id": m.affiliate_id, "code": str(m.code), "is_test": m.is_test} for m in members
    ]
    ctx["out"]["connections"] = [{"kind": c.kind, "label": c.label, "code": str(c.code)} for c in connections.values()]
    ctx["out"]["offers"] = [{"name": o.name, "code": str(o.code), "state": o.state} for o in offers]
    ctx["out"]["links"] = [{"url": link.url, "member": link.member.name, "offer": link.offer.name} for link in links]
