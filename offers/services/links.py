"""Links: generate members' links to an offer (deep links, vanity slugs, sub-ids), archive them, their QR codes."""

import io
import re
from dataclasses import dataclass, field

import qrcode
import qrcode.image.svg
from django.db import IntegrityError, transaction
from django.utils import timezone

from offers import lib
from offers.models import Link, Member, Offer
from workspaces.errors import DomainError
from workspaces.public_paths import VANITY_REGEX

VANITY_RE = re.compile(rf"^{VANITY_REGEX}$")


def link_url(link: Link) -> str:
    return link.url


def deep_link_problems(*, offer: Offer, destination_url: str) -> list[str]:
    if not destination_url:
        return []
    if not offer.allowed_domain_list:
        return ["This offer allows no deep links: add allowed domains to the offer first."]
    if not lib.is_allowed_destination(destination_url, offer.allowed_domain_list):
        allowed = ", ".join(offer.allowed_domain_list)
        return [f"Deep links for this offer must be https/http URLs on: {allowed}."]
    return []


def vanity_problems(vanity: str) -> list[str]:
    if not vanity:
        return []
    if not VANITY_RE.match(vanity):
        return [
            "A vanity slug is 3-50 lower-case letters, digits and dashes, starting with a letter or digit "
            "(e.g. ava-spring)."
        ]
    # A vanity shares the /c/ namespace with link codes.
    if Link.objects.filter(vanity=vanity).exists() or Link.objects.filter(code=vanity).exists():
        return [f"The vanity slug '{vanity}' is taken; choose another."]
    return []


@dataclass
class GenerateReport:
    created: list[Link] = field(default_factory=list)
    skipped: list[Member] = field(default_factory=list)


@transaction.atomic
def generate_links(
    *,
    offer: Offer,
    members: list[Member],
    destination_url: str = "",
    vanity: str = "",
    subs: dict[str, str] | None = None,
    allow_duplicates: bool = False,
) -> GenerateReport:
    """Give each member a link to ``offer``.

    A member who already has a plain link (no deep link, vanity or sub-ids) for the
    offer is skipped unless ``allow_duplicates``; links with a deep link, vanity or
    sub-ids are always new. Archived members and other workspaces' members are refused.
    """
    subs = {k: (v or "").strip() for k, v in (subs or {}).items() if k in ("sub1", "sub2", "sub3", "sub4", "sub5")}
    vanity = (vanity or "").strip()
    destination_url = (destination_url or "").strip()
    if offer.archived_at:
        raise DomainError("This offer is archived; restore it to create links.")
    if not members:
        raise DomainError("Choose at least one member.")
    if vanity and len(members) != 1:
        raise DomainError("A vanity slug belongs to one link: choose a single member.")
    for member in members:
        if member.workspace_id != offer.workspace_id:
            raise DomainError("Member not found.")
    problems = deep_link_problems(offer=offer, destination_url=destination_url) + vanity_problems(vanity)
    if problems:
        raise DomainError(" ".join(problems))
    # Serialise generation per offer so two simultaneous "generate" clicks cannot both
    # decide a member has no link yet and give them two.
    Offer.objects.select_for_update().filter(pk=offer.pk).first()
    plain = not (destination_url or vanity or any(subs.values()))
    has_plain = set()
    if plain and not allow_duplicates:
        has_plain = set(
            Link.objects.filter(
                offer=offer,
                member__in=members,
                archived_at=None,
                destination_url="",
                vanity=None,
                sub1="",
                sub2="",
                sub3="",
                sub4="",
                sub5="",
            ).values_list("member_id", flat=True)
        )
    report = GenerateReport()
    for member in members:
        if member.status != Member.Status.ACTIVE:
            report.skipped.append(member)
            continue
        if member.id in has_plain:
            report.skipped.append(member)
            continue
        link = Link(
            workspace=offer.workspace,
            offer=offer,
            member=member,
            destination_url=destination_url,
            vanity=vanity or None,
            **subs,
        )
        try:
            with transaction.atomic():
                link.save()
        except IntegrityError:
            if vanity:
                raise DomainError(f"The vanity slug '{vanity}' is taken; choose another.") from None
            link.code = Link._meta.get_field("code").default()  # a random code collided: draw again
            link.save()
        report.created.append(link)
    return report


def archive_link(*, link: Link) -> Link:
    link.archived_at = link.archived_at or timezone.now()
    link.save(update_fields=["archived_at", "updated_at"])
    return link


def link_qr_png(link: Link) -> bytes:
    image = qrcode.make(link_url(link), box_size=8, border=2)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def link_qr_svg(link: Link) -> bytes:
    image = qrcode.make(link_url(link), image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()
