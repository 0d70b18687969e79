"""The fraud rules. Each is a small function: (facts, settings) -> a Finding, or None when it does not fire.

Rules only read; ``risk.services.evaluate_conversion`` runs the switched-on ones and
stores what they find. A rule that lacks the data it needs (no click, no order id,
no customer email) does not fire: it never guesses.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from offers.payouts import compute_payout, terms_for
from risk.models import OrderRef, RiskSettings, Rule
from tracking.models import Click, Conversion, ConversionSource

# Postback parameters (lower-cased) that carry the merchant's order id or the customer's email.
ORDER_PARAMS = ("order_id", "orderid", "order_ref", "orderref", "order_number", "ordernumber", "oid")
EMAIL_PARAMS = ("customer_email", "customeremail", "email", "buyer_email")
# Bot share needs a sample: below this many clicks in the window a share says little.
BOT_SHARE_MIN_CLICKS = 20
BOT_SHARE_DAYS = 30


@dataclass
class Finding:
    rule: str
    reason: str
    evidence: dict = field(default_factory=dict)


@dataclass
class Facts:
    """What the rules look at for one conversion: the row, its click, and what its postbacks carried."""

    conversion: Conversion
    params: dict = field(default_factory=dict)

    @property
    def click(self) -> Click | None:
        return self.conversion.click

    @property
    def order_ref(self) -> str:
        if self.conversion.order_ref:
            return self.conversion.order_ref
        for name in ORDER_PARAMS:
            if self.params.get(name):
                return str(self.params[name])[:255]
        return ""

    @property
    def customer_email(self) -> str:
        for name in EMAIL_PARAMS:
            if self.params.get(name):
                return str(self.params[name]).strip().lower()
        return ""


def click_velocity(facts: Facts, settings: RiskSettings) -> Finding | None:
    """More than N clicks from the converting click's visitor hash on its link in the hour up to that click."""
    click = facts.click
    if click is None or not click.ip_hash:
        return None
    n = Click.objects.filter(
        member_id=click.member_id,
        link_id=click.link_id,
        ip_hash=click.ip_hash,
        created_at__gt=click.created_at - timedelta(hours=1),
        created_at__lte=click.created_at,
    ).count()
    if n <= settings.velocity_clicks:
        return None
    return Finding(
        Rule.CLICK_VELOCITY,
        f"{n} clicks from one visitor on this link within an hour (more than {settings.velocity_clicks}).",
        {"clicks": n, "visitor_hash": click.ip_hash[:16], "link": click.link_id},
    )


def bot_share(facts: Facts, settings: RiskSettings) -> Finding | None:
    """The member's clicks of the last 30 days before the conversion are more than N % bots."""
    conversion = facts.conversion
    if conversion.member_id is None:
        return None
    since = conversion.event_at - timedelta(days=BOT_SHARE_DAYS)
    clicks = Click.objects.filter(
        member_id=conversion.member_id, created_at__gte=since, created_at__lte=conversion.event_at
    )
    total = clicks.count()
    if total < BOT_SHARE_MIN_CLICKS:
        return None
    bots = clicks.filter(is_bot=True).count()
    share = Decimal(bots * 100) / total
    if share <= settings.bot_share_percent:
        return None
    return Finding(
        Rule.BOT_SHARE,
        f"{share:.0f} % of the member's {total} clicks in the last {BOT_SHARE_DAYS} days were bots "
        f"(more than {settings.bot_share_percent} %).",
        {"bots": bots, "clicks": total},
    )


def too_soon(facts: Facts, settings: RiskSettings) -> Finding | None:
    """Converted under N seconds after its click: faster than a person can buy."""
    seconds = _seconds_after_click(facts)
    if seconds is None or seconds >= settings.too_soon_seconds:
        return None
    return Finding(
        Rule.TOO_SOON,
        f"Converted {seconds:.0f} s after its click (under {settings.too_soon_seconds} s).",
        {"seconds_after_click": round(seconds, 1)},
    )


def too_late(facts: Facts, settings: RiskSettings) -> Finding | None:
    """Converted after the offer's attribution window (the workspace's default without an offer)."""
    seconds = _seconds_after_click(facts)
    offer = facts.conversion.offer
    window = offer.attribution_window_days if offer is not None else settings.too_late_days
    if seconds is None or seconds <= window * 86400:
        return None
    return Finding(
        Rule.TOO_LATE,
        f"Converted {seconds / 86400:.0f} days after its click (the window is {window} days).",
        {"seconds_after_click": round(seconds, 1), "window_days": window},
    )


def affiliate_mismatch(facts: Facts, settings: RiskSettings) -> Finding | None:
    """The affiliate id the network sent names someone other than the click's member."""
    conversion = facts.conversion
    if not conversion.affiliate_mismatch:
        return None
    click_member = facts.click.member.affiliate_id if facts.click else ""
    return Finding(
        Rule.AFFILIATE_MISMATCH,
        f"The network sent affiliate id {conversion.affiliate_id_given or '(none)'}, "
        f"the click belongs to {click_member or 'another member'}.",
        {"affiliate_id_given": conversion.affiliate_id_given, "click_affiliate_id": click_member},
    )


def duplicate_order(facts: Facts, settings: RiskSettings) -> Finding | None:
    """Another conversion carries the same order id from another connection or another source; the later is held."""
    conversion, ref = facts.conversion, facts.order_ref
    if not ref:
        return None
    others = (
        OrderRef.objects.filter(workspace_id=conversion.workspace_id, ref=ref, conversion_id__lt=conversion.pk)
        .select_related("conversion")
        .order_by("conversion_id")
    )
    for other in others:
        first = other.conversion
        if first.connection_id != conversion.connection_id or first.source != conversion.source:
            return Finding(
                Rule.DUPLICATE_ORDER,
                f"Order {ref} was already reported as conversion {first.external_id or first.transaction_id} "
                f"({first.network}, {first.get_source_display().lower()}).",
                {"order_ref": ref, "other_conversion": str(first.code)},
            )
    return None


def self_referral(facts: Facts, settings: RiskSettings) -> Finding | None:
    """The customer's email on the order is the member's own email or payout account."""
    member, email = facts.conversion.member, facts.customer_email
    if member is None or not email:
        return None
    own = {e.strip().lower() for e in (member.email, member.paypal_email) if e}
    if email not in own:
        return None
    return Finding(
        Rule.SELF_REFERRAL,
        f"The customer's email {email} is the member's own.",
        {"customer_email": email},
    )


def commission_drift(facts: Facts, settings: RiskSettings) -> Finding | None:
    """The network's payout, or the member payout, is more than N % off what the offer's agreed terms give."""
    conversion = facts.conversion
    if conversion.offer_id is None:
        return None
    network = _network_commission_drift(conversion, settings)
    if network is not None or conversion.member_id is None:
        return network
    terms = terms_for(offer=conversion.offer, member=conversion.member)
    agreed = compute_payout(
        terms=terms, sale_amount=conversion.sale_amount, network_payout=conversion.network_payout
    ).amount
    actual = conversion.member_payout
    if agreed == actual:
        return None
    drift = abs(actual - agreed) * 100 / agreed if agreed else Decimal(100)
    if drift <= settings.drift_percent:
        return None
    return Finding(
        Rule.COMMISSION_DRIFT,
        f"Member payout {actual} {conversion.currency} is {drift:.0f} % off the agreed {agreed} "
        f"(more than {settings.drift_percent} %).",
        {"member_payout": str(actual), "agreed": str(agreed)},
    )


def _network_commission_drift(conversion: Conversion, settings: RiskSettings) -> Finding | None:
    """The network payout against the commission agreed with the network on the offer, when the offer states one."""
    offer = conversion.offer
    if offer.agreed_commission_percent is None and offer.agreed_commission_flat is None:
        return None
    if conversion.network_payout is None or conversion.sale_amount is None:
        return None
    agreed = (offer.agreed_commission_flat or Decimal(0)) + (
        conversion.sale_amount * (offer.agreed_commission_percent or Decimal(0)) / 100
    ).quantize(Decimal("0.01"))
    actual = conversion.network_payout
    if agreed == actual:
        return None
    drift = abs(actual - agreed) * 100 / agreed if agreed else Decimal(100)
    if drift <= settings.drift_percent:
        return None
    return Finding(
        Rule.COMMISSION_DRIFT,
        f"The network paid {actual} {conversion.currency}, {drift:.0f} % off the agreed commission of {agreed} "
        f"(more than {settings.drift_percent} %).",
        {"network_payout": str(actual), "agreed_network_commission": str(agreed)},
    )


def _seconds_after_click(facts: Facts) -> float | None:
    click = facts.click
    if click is None or facts.conversion.source == ConversionSource.MANUAL:
        return None
    return (facts.conversion.event_at - click.created_at).total_seconds()


# Rule -> (function, the RiskSettings switch that turns it on).
RULES = {
    Rule.CLICK_VELOCITY: (click_velocity, "velocity_on"),
    Rule.BOT_SHARE: (bot_share, "bot_share_on"),
    Rule.TOO_SOON: (too_soon, "too_soon_on"),
    Rule.TOO_LATE: (too_late, "too_late_on"),
    Rule.AFFILIATE_MISMATCH: (affiliate_mismatch, "affiliate_mismatch_on"),
    Rule.DUPLICATE_ORDER: (duplicate_order, "duplicate_order_on"),
    Rule.SELF_REFERRAL: (self_referral, "self_referral_on"),
    Rule.COMMISSION_DRIFT: (commission_drift, "drift_on"),
}


def run_rules(facts: Facts, settings: RiskSettings) -> list[Finding]:
    found = []
    for rule, switch in RULES.values():
        if getattr(settings, switch):
            finding = rule(facts, settings)
            if finding is not None:
                found.append(finding)
    return found
