"""What a member does in the portal (deep links, vanity slugs, payout email, tax form, notifications)
and what the brand decides about it (vanity requests, the tax-form rule)."""

import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from networks.crypto import CredentialsUnreadable, encrypt_credentials, rotate_token
from offers import services as offer_services
from offers.models import Link, Member
from portal.models import (
    PAYOUT_CONFIRM_LIFETIME,
    PayoutEmailChange,
    PortalAccess,
    PortalSettings,
    TaxForm,
    VanityRequest,
    hash_token,
    new_token,
)
from workspaces.emails import send_templated
from workspaces.errors import DomainError
from workspaces.models import Workspace


def create_deep_link(*, member: Member, link: Link, url: str) -> Link:
    """A new link of ``member`` to ``link``'s offer that lands on ``url`` (one of the offer's allowed domains)."""
    url = (url or "").strip()
    if not url:
        raise DomainError("Paste the address of a page on the brand's site.")
    problems = offer_services.deep_link_problems(offer=link.offer, destination_url=url)
    if problems:
        raise DomainError(" ".join(problems))
    report = offer_services.generate_links(offer=link.offer, members=[member], destination_url=url)
    if not report.created:
        raise DomainError("No link was made: your membership or the offer is no longer active.")
    return report.created[0]


@transaction.atomic
def request_vanity(*, member: Member, link: Link, slug: str) -> VanityRequest:
    slug = (slug or "").strip().lower()
    if link.vanity:
        raise DomainError(f"This link already has the vanity slug '{link.vanity}'.")
    problems = offer_services.vanity_problems(slug)
    if problems:
        raise DomainError(" ".join(problems))
    if VanityRequest.objects.filter(slug=slug, status=VanityRequest.Status.PENDING).exists():
        raise DomainError(f"The vanity slug '{slug}' is taken; choose another.")
    try:
        with transaction.atomic():
            return VanityRequest.objects.create(workspace_id=member.workspace_id, member=member, link=link, slug=slug)
    except IntegrityError:
        raise DomainError("This link already has a request waiting for the brand.") from None


@transaction.atomic
def decide_vanity_request(*, request: VanityRequest, approve: bool, actor: str = "", note: str = "") -> None:
    """Approve (the link gets the slug) or decline a waiting request."""
    locked = VanityRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != VanityRequest.Status.PENDING:
        raise DomainError("This request was already decided.")
    if approve:
        problems = offer_services.vanity_problems(locked.slug)
        if problems:
            raise DomainError(" ".join(problems) + " Decline the request instead.")
        link = Link.objects.select_for_update().get(pk=locked.link_id)
        link.vanity = locked.slug
        try:
            with transaction.atomic():
                link.save(update_fields=["vanity", "updated_at"])
        except IntegrityError:
            raise DomainError(f"The vanity slug '{locked.slug}' is taken.") from None
    locked.status = VanityRequest.Status.APPROVED if approve else VanityRequest.Status.DECLINED
    locked.decided_by, locked.decided_at, locked.note = actor, timezone.now(), note[:300]
    locked.save(update_fields=["status", "decided_by", "decided_at", "note", "updated_at"])


def request_payout_email_change(*, access: PortalAccess, new_email: str) -> PayoutEmailChange:
    """Store the new PayPal email as waiting; it takes effect when confirmed from the sign-in mailbox."""
    change = PayoutEmailChange.objects.create(
        workspace_id=access.workspace_id,
        access=access,
        new_email=new_email.strip().lower(),
        expires_at=timezone.now() + PAYOUT_CONFIRM_LIFETIME,
    )
    from portal.tasks import send_payout_email_confirmation as send_payout_email_confirmation_task

    transaction.on_commit(lambda: send_payout_email_confirmation_task.delay(change.pk))
    return change


def send_payout_email_confirmation(*, change_id: int) -> bool:
    token = new_token()
    claimed = PayoutEmailChange.objects.filter(pk=change_id, token_hash=None, confirmed_at=None).update(
        token_hash=hash_token(token)
    )
    if claimed != 1:
        return False  # already sent (a task run twice)
    change = PayoutEmailChange.objects.select_related("access__person", "access__member", "workspace").get(pk=change_id)
    url = settings.SITE_URL + reverse("portal:confirm_payout_email", args=[change.workspace.slug, token])
    send_templated(
        "portal-payout-email",
        [change.access.person.email],
        {"change": change, "url": url, "member": change.access.member, "workspace": change.workspace},
    )
    return True


def find_payout_email_change(*, workspace_slug: str, token: str) -> PayoutEmailChange:
    change = (
        PayoutEmailChange.objects.select_related("access__member", "workspace")
        .filter(token_hash=hash_token(token), workspace__slug=workspace_slug)
        .first()
    )
    if change is None:
        raise DomainError("This confirmation link is not valid.")
    if not change.is_usable:
        raise DomainError("This confirmation link was used or has expired. Change the email again in the portal.")
    return change


@transaction.atomic
def confirm_payout_email_change(*, workspace_slug: str, token: str) -> Member:
    change = find_payout_email_change(workspace_slug=workspace_slug, token=token)
    if PayoutEmailChange.objects.filter(pk=change.pk, confirmed_at=None).update(confirmed_at=timezone.now()) != 1:
        raise DomainError("This confirmation link was used or has expired. Change the email again in the portal.")
    member = Member.objects.select_for_update().get(pk=change.access.member_id)
    member.paypal_email = change.new_email
    member.save(update_fields=["paypal_email", "updated_at"])
    return member


class TaxFormProblem(DomainError):
    """A tax form rule said no, about one field of the form."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def save_tax_form(*, member: Member, data: dict) -> TaxForm:
    """Store (or replace) the member's tax form; the tax id is kept encrypted, only its last 4 in clear."""
    tax_id = re.sub(r"[\s-]", "", data["tax_id"])
    if len(tax_id) < 4 or not tax_id.isalnum():
        raise TaxFormProblem("tax_id", "A tax id has at least 4 letters or digits (spaces and dashes are ignored).")
    values = {
        "workspace_id": member.workspace_id,
        "kind": data["kind"],
        "legal_name": data["legal_name"].strip(),
        "country": data["country"].upper(),
        "address": data["address"].strip(),
        "tax_id_encrypted": encrypt_credentials({"tax_id": tax_id}),
        "tax_id_last4": tax_id[-4:],
        "signed_name": data["signed_name"].strip(),
        "signed_at": timezone.now(),
    }
    if values["kind"] == TaxForm.Kind.W9 and values["country"] != "US":
        raise TaxFormProblem("country", "A W-9 is for US persons: choose W-8BEN, or give US as the country.")
    if values["kind"] == TaxForm.Kind.W8BEN and values["country"] == "US":
        raise TaxFormProblem("kind", "US persons fill in a W-9, not a W-8BEN.")
    if values["signed_name"].lower() != values["legal_name"].lower():
        raise TaxFormProblem("signed_name", "Sign by typing your legal name exactly as above.")
    form, _ = TaxForm.objects.update_or_create(member=member, defaults=values)
    return form


def update_notifications(*, access: PortalAccess, conversion_approved: bool, payment_sent: bool) -> None:
    access.notify_conversion_approved, access.notify_payment_sent = conversion_approved, payment_sent
    access.save(update_fields=["notify_conversion_approved", "notify_payment_sent", "updated_at"])


def update_portal_settings(*, workspace: Workspace, require_tax_form: bool) -> PortalSettings:
    settings_row, _ = PortalSettings.objects.update_or_create(
        workspace=workspace, defaults={"require_tax_form": require_tax_form}
    )
    return settings_row


def rotate_tax_ids_all_workspaces() -> tuple[int, list[str]]:
    """Re-encrypt every stored tax id with the newest FERNET_KEYS key; returns (rotated, problems)."""
    rotated, problems = 0, []
    for form in TaxForm.objects.select_related("member").order_by("id").iterator(chunk_size=500):
        try:
            token = rotate_token(form.tax_id_encrypted)
        except CredentialsUnreadable:
            problems.append(f"The tax form of {form.member} (workspace {form.workspace_id}) cannot be decrypted.")
            continue
        TaxForm.objects.filter(pk=form.pk).update(tax_id_encrypted=token)
        rotated += 1
    return rotated, problems
