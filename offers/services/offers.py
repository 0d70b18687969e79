"""Offers: the offer URL rules, create and edit, pause and resume, archive, payout overrides, previews."""

from decimal import Decimal
from urllib.parse import urlsplit

from django.utils import timezone

from offers import lib
from offers.models import Member, Offer, PayoutOverride, PayoutType, Protocol
from workspaces.errors import DomainError
from workspaces.models import Workspace

# --- Offer URL rules -------------------------------------------------------


def offer_url_problems(url: str, *, protocol: str = "", required: bool = True, name: str = "offer URL") -> list[str]:
    """What is wrong with an offer, device or fallback URL (``name`` in messages), as sentences (empty when fine)."""
    if not url:
        return ["Enter a URL."] if required else []
    problems = []
    if len(url) > 2000:
        return ["The URL is longer than 2,000 characters."]
    if any(ch.isspace() for ch in url) or "\\" in url:
        return ["The URL must not contain spaces or backslashes."]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return ["This URL cannot be parsed."]
    if parts.scheme.lower() != "https":
        problems.append("The URL must start with https://.")
    if not parts.hostname:
        problems.append("The URL needs a host name, e.g. https://shop.example.com/.")
    if parts.username or parts.password:
        problems.append("The URL must not carry a user name or password.")
    unknown = lib.unknown_macros(url)
    if unknown:
        names = ", ".join("{" + m + "}" for m in unknown)
        known = ", ".join("{" + m + "}" for m in sorted(lib.MACROS))
        problems.append(f"Unknown macro(s): {names}. Known macros: {known}.")
    for needed in lib.missing_macros(url, protocol):
        label = Protocol(protocol).label
        problems.append(f"{label} needs {{{needed}}} in the {name} so conversions can be matched to clicks.")
    return problems


def append_network_params(*, url: str, kind: str) -> str:
    """The offer URL with the network's tracking parameters added where missing.

    A URL that cannot be parsed is returned as it is; the form then says what is wrong with it.
    """
    try:
        return lib.add_tracking_params(url, kind)
    except ValueError:
        return url


def domain_problems(allowed_domains: str) -> list[str]:
    return [
        f"'{entry}' is not a host name (use shop.example.com or *.example.com)."
        for entry in lib.parse_domain_list(allowed_domains)
        if lib.normalise_domain_entry(entry) is None
    ]


# --- Offers -----------------------------------------------------------------

OFFER_FIELDS = (
    "name",
    "description",
    "conversion_type",
    "payout_type",
    "payout_flat",
    "payout_percent",
    "currency",
    "protocol",
    "connection",
    "offer_url",
    "ios_url",
    "android_url",
    "fallback_url",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "allowed_domains",
    "starts_at",
    "ends_at",
    "allow_multiple_conversions",
    "attribution_window_days",
    "agreed_commission_percent",
    "agreed_commission_flat",
)


def payout_problems(*, payout_type: str, payout_flat, payout_percent) -> dict[str, str]:
    """Field name -> problem, for a payout option and its values."""
    problems = {}
    needs_flat = payout_type in (PayoutType.FLAT, PayoutType.FLAT_PERCENT)
    needs_percent = payout_type in (PayoutType.PERCENT, PayoutType.FLAT_PERCENT)
    if payout_type not in PayoutType.values:
        problems["payout_type"] = "Choose a payout option."
    if payout_flat is not None and payout_flat < 0:
        problems["payout_flat"] = "The flat amount cannot be negative."
    elif needs_flat and not payout_flat:
        problems["payout_flat"] = "Enter the flat amount per conversion (more than 0)."
    if payout_percent is not None and not (Decimal(0) <= payout_percent <= Decimal(100)):
        problems["payout_percent"] = "The percentage must be between 0 and 100."
    elif needs_percent and not payout_percent:
        problems["payout_percent"] = "Enter the percent of the sale amount (more than 0)."
    return problems


def offer_problems(values: dict) -> dict[str, list[str]]:
    """Field name -> problems for a whole offer; empty when it can be saved."""
    problems: dict[str, list[str]] = {}

    def add(name, messages):
        if messages:
            problems.setdefault(name, []).extend(messages)

    if not (values.get("name") or "").strip():
        add("name", ["Give the offer a name."])
    add("offer_url", offer_url_problems(values.get("offer_url") or "", protocol=values.get("protocol") or ""))
    for device, name in lib.DEVICES.items():
        url = values.get(f"{device}_url") or ""
        add(f"{device}_url", offer_url_problems(url, protocol=values.get("protocol") or "", required=False, name=name))
    fallback = values.get("fallback_url") or ""
    add("fallback_url", [p for p in offer_url_problems(fallback, required=False) if "macro" not in p])
    if fallback and lib.find_macros(fallback):
        add("fallback_url", ["The fallback URL is used without tracking; it cannot contain macros."])
    add("allowed_domains", domain_problems(values.get("allowed_domains") or ""))
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if starts and ends and ends <= starts:
        add("ends_at", ["The end must be after the start."])
    window = values.get("attribution_window_days")
    if window is not None and not 1 <= window <= 365:
        add("attribution_window_days", ["The window must be between 1 and 365 days."])
    agreed_percent, agreed_flat = values.get("agreed_commission_percent"), values.get("agreed_commission_flat")
    if agreed_percent is not None and not (Decimal(0) <= agreed_percent <= Decimal(100)):
        add("agreed_commission_percent", ["The percentage must be between 0 and 100."])
    if agreed_flat is not None and agreed_flat < 0:
        add("agreed_commission_flat", ["The flat amount cannot be negative."])
    for name, message in payout_problems(
        payout_type=values.get("payout_type") or "",
        payout_flat=values.get("payout_flat"),
        payout_percent=values.get("payout_percent"),
    ).items():
        add(name, [message])
    return problems


def _apply_offer_fields(offer: Offer, workspace: Workspace, fields: dict) -> list[str]:
    unknown = set(fields) - set(OFFER_FIELDS)
    if unknown:
        raise TypeError(f"unknown offer fields: {sorted(unknown)}")
    connection = fields.get("connection")
    if connection is not None and connection.workspace_id != workspace.id:
        raise DomainError("Network connection not found.")
    merged = {name: getattr(offer, name) for name in OFFER_FIELDS} | fields
    problems = offer_problems(merged)
    if problems:
        raise DomainError(" ".join(p for ps in problems.values() for p in ps))
    for name, value in fields.items():
        if value is None and name in ("payout_flat", "payout_percent"):
            value = Decimal("0")
        if value is None and name == "attribution_window_days":
            value = 30
        if (
            value is None
            and name in ("description", "fallback_url", "ios_url", "android_url", "allowed_domains")
            or (value is None and name.startswith("utm_"))
        ):
            value = ""
        setattr(offer, name, value)
    return list(fields)


def create_offer(*, workspace: Workspace, **fields) -> Offer:
    offer = Offer(workspace=workspace)
    if "currency" not in fields or not fields["currency"]:
        connection = fields.get("connection")
        fields["currency"] = connection.currency if connection else workspace.currency
    _apply_offer_fields(offer, workspace, fields)
    offer.save()
    return offer


def update_offer(*, offer: Offer, **fields) -> Offer:
    changed = _apply_offer_fields(offer, offer.workspace, fields)
    offer.save(update_fields=[*changed, "updated_at"])
    return offer


def pause_offer(*, offer: Offer) -> Offer:
    offer.paused = True
    offer.save(update_fields=["paused", "updated_at"])
    return offer


def resume_offer(*, offer: Offer) -> Offer:
    if offer.archived_at:
        raise DomainError("This offer is archived; restore it before resuming.")
    offer.paused = False
    offer.save(update_fields=["paused", "updated_at"])
    return offer


def archive_offer(*, offer: Offer) -> Offer:
    """Archive: hidden from lists and paused, so its links send visitors to the fallback URL."""
    offer.archived_at = offer.archived_at or timezone.now()
    offer.paused = True
    offer.save(update_fields=["archived_at", "paused", "updated_at"])
    return offer


def restore_offer(*, offer: Offer) -> Offer:
    offer.archived_at = None
    offer.save(update_fields=["archived_at", "updated_at"])
    return offer


def set_payout_override(
    *, offer: Offer, member: Member, payout_type: str, payout_flat=None, payout_percent=None
) -> PayoutOverride:
    if member.workspace_id != offer.workspace_id:
        raise DomainError("Member not found.")
    problems = payout_problems(payout_type=payout_type, payout_flat=payout_flat, payout_percent=payout_percent)
    if problems:
        raise DomainError(" ".join(problems.values()))
    override, _ = PayoutOverride.objects.update_or_create(
        offer=offer,
        member=member,
        defaults={
            "workspace": offer.workspace,
            "payout_type": payout_type,
            "payout_flat": payout_flat or Decimal("0"),
            "payout_percent": payout_percent or Decimal("0"),
        },
    )
    return override


def remove_payout_override(*, offer: Offer, member: Member) -> int:
    deleted, _ = PayoutOverride.objects.filter(offer=offer, member=member).delete()
    return deleted


def preview_destination(*, offer: Offer, member: Member | None = None, deep_url: str = "", device: str = "") -> str:
    """Where a click on a link of ``offer`` would land, for a sample member and click
    (from a ``device``: "ios", "android" or "" for any other).

    ``offer`` may be unsaved (the form being filled in). Raises DomainError for a deep
    link outside the offer's allowed domains.
    """
    values = {"affiliate_id": member.affiliate_id} if member else {}
    if offer.pk:
        values["offer_id"] = str(offer.code)
    try:
        return lib.preview_destination(
            offer_url=lib.targeted_url(offer, device, deep_link=bool(deep_url)),
            network=lib.offer_network(offer),
            utm=lib.offer_utm(offer),
            allowed_domains=offer.allowed_domains,
            deep_url=deep_url or None,
            values=values,
        )
    except ValueError as e:
        raise DomainError(str(e)) from None
