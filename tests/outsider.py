"""The outsider registry: every URL that names a tenant object, and how to build it.

``tests/test_outsider.py`` logs in as charlie (owner of another workspace) and
checks that each of these answers 404 for alice's object, for GET and POST; it
also fails if a URL with parameters exists that is neither here nor in PUBLIC.
Member portal URLs are in PORTAL_CASES: another member, of the same workspace or
another, must get 404 for them.
When you add a URL with a parameter, add it here.
"""

from decimal import Decimal

from offers.models import Link, Member, NetworkConnection, Offer, PayoutRule, Project, PromoCode
from tracking.models import Conversion, PostbackLog
from workspaces.models import ApiKey, Invitation, Membership

# URL names whose parameter is not a tenant object (public endpoints, or resolved from the user).
PUBLIC = {
    "workspaces:switch",  # checked separately: only the user's own workspaces
    "workspaces:accept_invitation",  # the token is the credential
    # The public click redirect: any link code is followed for anyone; an unknown one is a 404.
    "tracking:click",
    "tracking:click_slash",
    "tracking:click_not_found",
    # Networks' conversion endpoints: the postback secret is the credential (tests/tracking/test_postback.py).
    "tracking:postback",
    "tracking:pixel",
    # API endpoints authenticate by workspace API key, not by session: tests/api/test_outsider_api.py
    # checks that another workspace's key gets 404 for each of these.
    "api:offer_detail",
    "api:offer_pause",
    "api:offer_resume",
    "api:member_detail",
    "api:conversion_detail",
    "api:conversion_approve",
    "api:conversion_reject",
    # Member portal links whose one-time token is the credential (tests/portal/test_sign_in.py, test_payout.py).
    "portal:redeem",
    "portal:confirm_payout_email",
}

CASES = {}

# The member portal's URLs, built from one member's rows (tests/portal/helpers.py:member_rows plus
# "access"): tests/test_outsider.py signs in as another member of the same workspace and as a member
# of another workspace, and each must answer 404.
PORTAL_CASES = {
    "portal:switch": lambda r: {"code": r["access"].code},
    "portal:link_detail": lambda r: {"code": r["link"].code},
    "portal:link_qr_png": lambda r: {"code": r["link"].code},
    "portal:link_qr_svg": lambda r: {"code": r["link"].code},
    "portal:request_vanity": lambda r: {"code": r["link"].code},
    "portal:click_detail": lambda r: {"transaction_id": r["click"].transaction_id},
    "portal:conversion_detail": lambda r: {"code": r["conversion"].code},
    "portal:payment_detail": lambda r: {"code": r["payment"].code},
    "portal:edit_postback": lambda r: {"code": r["postback"].code},
    "portal:enable_postback": lambda r: {"code": r["postback"].code},
    "portal:disable_postback": lambda r: {"code": r["postback"].code},
    "portal:remove_postback": lambda r: {"code": r["postback"].code},
    "portal:test_postback": lambda r: {"code": r["postback"].code},
    "portal:replay_delivery": lambda r: {"code": r["delivery"].code},
}


def case(*names):
    def register(builder):
        for name in names:
            CASES[name] = builder
        return builder

    return register


def build_world(workspace, owner):
    """One of each tenant object in ``workspace``."""
    conn = NetworkConnection.objects.create(workspace=workspace, kind="impact", label="Impact")
    project = Project.objects.create(workspace=workspace, name="P1")
    member = Member.objects.create(workspace=workspace, name="M1", email="m1@x.test", project=project)
    offer = Offer.objects.create(
        workspace=workspace, name="O1", offer_url="https://shop.test/?t={transaction_id}", connection=conn
    )
    link = Link.objects.create(workspace=workspace, offer=offer, member=member)
    promo_code = PromoCode.objects.create(workspace=workspace, member=member, text="M1CODE", key="M1CODE")
    payout_rule = PayoutRule.objects.create(
        workspace=workspace, offer=offer, match="sku", value="S1", payout_type="flat", payout_flat=Decimal("1.00")
    )
    conversion = Conversion.objects.create(
        workspace=workspace,
        connection=conn,
        network="impact",
        dedupe_key="tid:x",
        transaction_id="x",
        source="manual",
        currency="USD",
        sale_amount=Decimal("10.00"),
    )
    postback = PostbackLog.objects.create(
        workspace=workspace, connection=conn, network="impact", method="GET", outcome="rejected", reason="test"
    )
    key, _ = ApiKey.make(workspace=workspace, name="k", created_by=owner)
    invitation = Invitation.objects.create(workspace=workspace, email="new@x.test", role="viewer")
    membership = Membership.objects.get(workspace=workspace, user=owner)
    from tests.payments.helpers import outsider_objects

    payments_world = outsider_objects(workspace=workspace, connection=conn, member=member)
    from portal.models import VanityRequest

    vanity_request = VanityRequest.objects.create(workspace=workspace, member=member, link=link, slug="m1-spring")
    from tests.outbound.helpers import outsider_objects as outbound_objects

    outbound_world = outbound_objects(workspace=workspace, member=member)
    return {
        "connection": conn,
        "project": project,
        "member": member,
        "offer": offer,
        "link": link,
        "promo_code": promo_code,
        "payout_rule": payout_rule,
        "conversion": conversion,
        "postback": postback,
        "api_key": key,
        "invitation": invitation,
        "membership": membership,
        "vanity_request": vanity_request,
        **payments_world,
        **outbound_world,
    }


case("workspaces:cancel_invitation")(lambda w: {"pk": w["invitation"].pk})
case("workspaces:change_role", "workspaces:remove_member")(lambda w: {"pk": w["membership"].pk})


def _saved_report(world):
    from reports.models import SavedReport

    workspace = world["link"].workspace
    owner = world["membership"].user
    return SavedReport.objects.create(workspace=workspace, owner=owner, name="Mine", report="members", shared=True)


case("reports:change_saved_report", "reports:delete_saved_report")(lambda w: {"code": _saved_report(w).code})
case("workspaces:revoke_api_key")(lambda w: {"code": w["api_key"].code})


def _domain(world):
    from workspaces.models import TrackingDomain

    workspace = world["link"].workspace
    return TrackingDomain.objects.get_or_create(workspace=workspace, host=f"go.{workspace.slug}.test")[0]


case("workspaces:verify_domain", "workspaces:make_primary_domain", "workspaces:remove_domain")(
    lambda w: {"code": _domain(w).code}
)
case(
    "offers:edit_project",
    "offers:archive_project",
    "offers:restore_project",
)(lambda w: {"code": w["project"].code})
case(
    "tracking:member_detail",
    "offers:edit_member",
    "offers:archive_member",
    "offers:restore_member",
    "offers:add_promo_code",
)(lambda w: {"code": w["member"].code})
case("offers:delete_promo_code")(lambda w: {"code": w["promo_code"].code})
case(
    "tracking:offer_detail",
    "offers:edit_offer",
    "offers:pause_offer",
    "offers:resume_offer",
    "offers:archive_offer",
    "offers:restore_offer",
    "offers:add_override",
    "offers:add_payout_rule",
)(lambda w: {"code": w["offer"].code})
case("offers:move_payout_rule_up", "offers:delete_payout_rule")(lambda w: {"code": w["payout_rule"].code})
case("offers:remove_override")(lambda w: {"code": w["offer"].code, "member_code": w["member"].code})
case("offers:link_qr_png", "offers:link_qr_svg", "offers:archive_link")(lambda w: {"code": w["link"].code})
case("payments:statement", "portal_staff:invite_member")(lambda w: {"code": w["member"].code})
case("portal_staff:decide_vanity")(lambda w: {"code": w["vanity_request"].code, "decision": "approve"})
case("payments:settlement", "payments:receive_settlement", "payments:confirm_receipt")(
    lambda w: {"code": w["settlement"].code}
)
case("payments:run", "payments:approve_run", "payments:decline_run")(lambda w: {"code": w["payment_batch"].code})


def _click_rate(world):
    from cpc.models import ClickRate

    offer = world["offer"]
    return ClickRate.objects.create(workspace=offer.workspace, offer=offer, rate=Decimal("0.05"), daily_cap=10)


case("cpc:remove_click_rate")(lambda w: {"code": _click_rate(w).code})
case("payments:retry")(lambda w: {"code": w["payment"].code})
case(
    "outbound:webhook_detail",
    "outbound:webhook_deliveries_csv",
    "outbound:edit_webhook",
    "outbound:rotate_webhook_secret",
    "outbound:test_webhook",
    "outbound:enable_webhook",
    "outbound:disable_webhook",
    "outbound:delete_webhook",
)(lambda w: {"code": w["webhook"].code})
case("outbound:delivery_detail", "outbound:resend_delivery")(lambda w: {"code": w["delivery"].code})
case("outbound:member_postbacks", "outbound:member_postback_deliveries_csv")(lambda w: {"code": w["member"].code})
case("outbound:check_offer_links")(lambda w: {"code": w["offer"].code})
case(
    "outbound:edit_member_postback",
    "outbound:remove_member_postback",
    "outbound:enable_member_postback",
    "outbound:disable_member_postback",
    "outbound:test_member_postback",
)(lambda w: {"code": w["member_postback"].code})


case("risk:hold_member", "risk:lift_member_hold")(lambda w: {"code": w["member"].code})


def _risk_case(world):
    from risk.models import Case

    return {"code": Case.objects.create(workspace=world["conversion"].workspace, conversion=world["conversion"]).code}


case("risk:case")(_risk_case)


def _sync_run(world):
    from networks.models import SyncRun

    conn = world["connection"]
    return SyncRun.objects.create(workspace=conn.workspace, connection=conn, kind="actions", status="succeeded")


case(
    "networks:detail",
    "networks:edit",
    "networks:rotate_secret",
)(lambda w: {"code": w["connection"].code})
case("networks:sync_now")(lambda w: {"code": w["connection"].code, "kind": "actions"})
case("networks:run_progress")(lambda w: {"code": _sync_run(w).code})
case(
    "tracking:conversion_detail",
    "tracking:approve_conversion",
    "tracking:reject_conversion",
    "tracking:recompute_payout",
    "tracking:reattribute",
)(lambda w: {"code": w["conversion"].code})
case("tracking:postback_detail", "tracking:replay_postback")(lambda w: {"code": w["postback"].code})
case("tracking:offer_postback_panel", "tracking:send_test_conversion")(lambda w: {"code": w["offer"].code})


def _sync_run(world):
    from networks.models import SyncRun

    conn = world["connection"]
    return SyncRun.objects.create(workspace=conn.workspace, connection=conn, kind="actions", status="succeeded")


case(
    "networks:detail",
    "networks:edit",
    "networks:rotate_secret",
)(lambda w: {"code": w["connection"].code})
case("networks:sync_now")(lambda w: {"code": w["connection"].code, "kind": "actions"})
case("networks:run_progress")(lambda w: {"code": _sync_run(w).code})
