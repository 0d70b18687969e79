"""Promo codes: give a member a code, take it away, or import many from CSV.

A code credits its member with the sales a network reports it on when no click id came
with the sale (tracking/attribution.py has the rule). Codes are unique per workspace
whatever their case; a code is for one offer or for all of the member's offers.
"""

import re
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from offers.models import Member, Offer, PromoCode, promo_key
from offers.services.members import read_csv
from workspaces.errors import DomainError
from workspaces.models import Workspace

CODE_PATTERN = re.compile(r"^[\x21-\x7e]{2,64}$")  # printable ASCII without spaces: what a postback can carry
IMPORT_COLUMNS = ("code", "member", "offer")


def promo_code_problem(text: str) -> str:
    """Why ``text`` cannot be a promo code ("" when it can)."""
    text = text.strip()
    if not text:
        return "Enter a code."
    if not CODE_PATTERN.match(text):
        return "A code is 2 to 64 letters, digits or punctuation, without spaces."
    return ""


def _check(workspace: Workspace, member: Member, offer: Offer | None) -> None:
    if member.workspace_id != workspace.id:
        raise DomainError("Member not found.")
    if offer is not None and offer.workspace_id != workspace.id:
        raise DomainError("Offer not found.")


def _taken_message(workspace: Workspace, key: str) -> str:
    owner = PromoCode.objects.filter(workspace=workspace, key=key).select_related("member").first()
    who = f" by {owner.member.name}" if owner else ""
    return f"The code {key} is already taken{who} (codes are not case-sensitive)."


def create_promo_code(*, member: Member, text: str, offer: Offer | None = None) -> PromoCode:
    """Give ``member`` the promo code ``text``, for ``offer`` or (None) all their offers."""
    workspace = member.workspace
    _check(workspace, member, offer)
    problem = promo_code_problem(text)
    if problem:
        raise DomainError(problem)
    code = PromoCode(workspace=workspace, member=member, offer=offer, text=text.strip(), key=promo_key(text))
    try:
        with transaction.atomic():
            code.save()
    except IntegrityError:
        raise DomainError(_taken_message(workspace, code.key)) from None
    return code


def delete_promo_code(*, promo_code: PromoCode) -> None:
    """Retire a code: later sales with it are no longer attributed by it (past conversions keep their member)."""
    promo_code.delete()


# CSV import ------------------------------------------------------------------


@dataclass
class PromoImportReport:
    created: int = 0
    rows: int = 0
    # (line number in the file, message); empty when the import went through.
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _find_member(members_by_ref: dict, ref: str) -> Member | None:
    return members_by_ref.get(ref.lower()) if ref else None


def import_promo_codes(*, workspace: Workspace, data: bytes) -> PromoImportReport:
    """Import codes from CSV bytes (columns code, member, offer): all rows or none.

    ``member`` is an affiliate id or email of a member of the workspace; ``offer`` is an
    offer's name, or empty for all of the member's offers. Every row is checked first
    (format, unknown member or offer, a code already taken or repeated in the file); if
    any row has a problem, each is reported with its line number and nothing is written.
    """
    _header, rows = read_csv(data, columns=IMPORT_COLUMNS, ignored=(), required=("code", "member"))
    report = PromoImportReport(rows=len(rows))
    if not rows:
        raise DomainError("The file has a header but no codes.")
    members = {}
    for member in Member.objects.filter(workspace=workspace):
        members[member.affiliate_id.lower()] = member
        if member.email:
            members[member.email.lower()] = member
    offers = {o.name.lower(): o for o in Offer.objects.filter(workspace=workspace, archived_at=None)}
    keys = [promo_key(row.get("code", "")) for _line, row in rows]
    taken = set(PromoCode.objects.filter(workspace=workspace, key__in=keys).values_list("key", flat=True))
    seen: dict[str, int] = {}
    new = []
    for line, row in rows:
        if "_error" in row:
            report.errors.append((line, row["_error"]))
            continue
        text, key = row.get("code", ""), promo_key(row.get("code", ""))
        errors = []
        problem = promo_code_problem(text)
        if problem:
            errors.append(f"code '{text[:70]}': {problem}")
        elif key in taken:
            errors.append(f"code {key} is already taken in this workspace")
        elif key in seen:
            errors.append(f"code {key} also appears on line {seen[key]}")
        seen.setdefault(key, line)
        member = _find_member(members, row.get("member", ""))
        if member is None:
            errors.append(f"member '{row.get('member', '')[:70]}' is not an affiliate id or email of a member")
        offer_name = row.get("offer", "")
        offer = offers.get(offer_name.lower()) if offer_name else None
        if offer_name and offer is None:
            errors.append(f"offer '{offer_name[:70]}' does not exist (leave it empty for all offers)")
        report.errors.extend((line, e) for e in errors)
        if not errors:
            new.append(PromoCode(workspace=workspace, member=member, offer=offer, text=text.strip(), key=key))
    if report.errors:
        return report
    try:
        with transaction.atomic():
            PromoCode.objects.bulk_create(new)
    except IntegrityError:
        # A code taken between the check and the insert (someone added it meanwhile).
        raise DomainError("Some codes were taken while the file was checked; upload it again.") from None
    report.created = len(new)
    return report
