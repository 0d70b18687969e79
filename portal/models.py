"""The member portal: who may sign in as which member, their one-time links, and what they keep here.

A ``Person`` is one email address; each ``PortalAccess`` lets that person act as one
member of one workspace, so a creator who works with several brands signs in once
and switches. Every portal query starts from the access's member.
"""

import hashlib
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from offers.models import Link, Member
from workspaces.models import TimeStamped, Workspace


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Person(TimeStamped):
    """Someone who signs in to the portal, by email (lower-cased)."""

    email = models.EmailField(unique=True)

    def __str__(self):
        return self.email


class PortalAccess(TimeStamped):
    """``person`` may sign in as ``member`` of ``workspace``."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.OneToOneField(Member, models.CASCADE, related_name="portal_access")
    person = models.ForeignKey(Person, models.CASCADE, related_name="accesses")
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    invited_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)
    notify_conversion_approved = models.BooleanField(default=True)
    notify_payment_sent = models.BooleanField(default=True)

    class Meta:
        constraints = [
            # A member's email is unique in a workspace, so a person is one member per brand.
            models.UniqueConstraint(fields=["workspace", "person"], name="portal_access_once_per_workspace"),
        ]

    def __str__(self):
        return f"{self.person} as {self.member} ({self.workspace})"


class SignInLink(models.Model):
    """A one-time sign-in link: only the token's hash is stored; it expires and works once."""

    class Purpose(models.TextChoices):
        INVITATION = "invitation", "Invitation"
        SIGN_IN = "sign_in", "Sign-in"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    access = models.ForeignKey(PortalAccess, models.CASCADE, related_name="sign_in_links")
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()


class PayoutEmailChange(models.Model):
    """A new PayPal email waiting for the member to confirm it from that mailbox."""

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    access = models.ForeignKey(PortalAccess, models.CASCADE, related_name="payout_changes")
    new_email = models.EmailField()
    # Set when the confirmation email is sent (by the worker, which alone sees the token).
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    @property
    def is_usable(self) -> bool:
        return self.confirmed_at is None and self.expires_at > timezone.now()


class TaxForm(TimeStamped):
    """A member's W-9 or W-8BEN details; the tax id is stored encrypted, shown masked."""

    class Kind(models.TextChoices):
        W9 = "w9", "W-9 (US person)"
        W8BEN = "w8ben", "W-8BEN (not a US person)"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    member = models.OneToOneField(Member, models.CASCADE, related_name="tax_form")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    legal_name = models.CharField(max_length=200)
    country = models.CharField(max_length=2)
    address = models.CharField(max_length=300)
    tax_id_encrypted = models.TextField()
    tax_id_last4 = models.CharField(max_length=4)
    signed_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField(default=timezone.now)

    @property
    def masked_tax_id(self) -> str:
        return "•••• " + self.tax_id_last4


class VanityRequest(TimeStamped):
    """A member asks for a vanity slug on one of their links; the brand approves or declines."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the brand"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey(Member, models.CASCADE, related_name="+")
    link = models.ForeignKey(Link, models.CASCADE, related_name="vanity_requests")
    slug = models.SlugField(max_length=50)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            # The brand's portal page: a workspace's requests waiting for a decision.
            models.Index(fields=["workspace", "status"], name="vanityreq_ws_status"),
        ]
        constraints = [
            # One open request per link.
            models.UniqueConstraint(
                fields=["link"], condition=models.Q(status="pending"), name="vanityreq_one_pending_per_link"
            ),
        ]


class PortalSettings(models.Model):
    """The brand's portal rules."""

    workspace = models.OneToOneField(Workspace, models.CASCADE, related_name="portal_settings")
    require_tax_form = models.BooleanField(default=False)


class Notification(models.Model):
    """An email to a member about their conversion or payment, written once per outbox row it comes from."""

    class Kind(models.TextChoices):
        CONVERSION_APPROVED = "conversion_approved", "Conversion approved"
        PAYMENT_SENT = "payment_sent", "Payment sent"

    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="+")
    access = models.ForeignKey(PortalAccess, models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The outbox row it comes from ("convevent:<id>", "event:<id>"): written once.
    key = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="notification_once")]
        indexes = [
            # The sender: notifications not sent yet, oldest first.
            models.Index(fields=["id"], condition=models.Q(sent_at__isnull=True), name="notification_unsent"),
        ]


SIGN_IN_LINK_LIFETIME = timedelta(minutes=30)
INVITATION_LINK_LIFETIME = timedelta(days=7)
PAYOUT_CONFIRM_LIFETIME = timedelta(hours=24)
