from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from workspaces.errors import DomainError
from workspaces.models import ApiKey, Invitation, Membership, Role, Workspace

User = get_user_model()


@transaction.atomic
def create_workspace(*, name: str, owner, currency: str = "USD") -> Workspace:
    workspace = Workspace.objects.create(name=name, slug=Workspace.unique_slug(name), currency=currency)
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    return workspace


def invitation_url(invitation: Invitation) -> str:
    return settings.SITE_URL + reverse("workspaces:accept_invitation", args=[invitation.token])


def invite_user(*, workspace: Workspace, email: str, role: str, invited_by) -> Invitation:
    """Create an invitation and email its link once the transaction commits."""
    email = email.strip().lower()
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise DomainError(f"{email} is already in this workspace.")
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(workspace=workspace, email=email, role=role, invited_by=invited_by)
    except IntegrityError:
        raise DomainError(f"{email} already has an open invitation.") from None
    queue_invitation_email(invitation)
    return invitation


def queue_invitation_email(invitation: Invitation) -> None:
    from workspaces.tasks import send_invitation as send_invitation_task

    transaction.on_commit(lambda: send_invitation_task.delay(invitation.id))


def send_invitation(*, invitation_id: int) -> bool:
    """Email the invitation link. Returns False if there is nothing to send."""
    from workspaces.emails import send_templated

    invitation = Invitation.objects.select_related("workspace", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or not invitation.is_open:
        return False
    send_templated(
        "invitation",
        [invitation.email],
        {"invitation": invitation, "url": invitation_url(invitation), "workspace": invitation.workspace},
    )
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now(), send_count=F("send_count") + 1)
    return True


@transaction.atomic
def accept_invitation(*, token: str, user) -> Membership:
    invitation = Invitation.objects.select_for_update().filter(token=token).first()
    if invitation is None or not invitation.is_open:
        raise DomainError("This invitation is no longer valid. Ask for a new one.")
    if user.email.lower() != invitation.email.lower():
        raise DomainError(f"This invitation is for {invitation.email}; you are signed in as {user.email}.")
    membership, created = Membership.objects.get_or_create(
        workspace=invitation.workspace, user=user, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at", "updated_at"])
    return membership


def change_role(*, membership: Membership, role: str) -> None:
    if membership.role == Role.OWNER and role != Role.OWNER:
        owners = Membership.objects.filter(workspace=membership.workspace, role=Role.OWNER).count()
        if owners <= 1:
            raise DomainError("A workspace needs at least one owner.")
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])


def remove_membership(*, membership: Membership) -> None:
    if membership.role == Role.OWNER:
        owners = Membership.objects.filter(workspace=membership.workspace, role=Role.OWNER).count()
        if owners <= 1:
            raise DomainError("A workspace needs at least one owner.")
    membership.delete()


def create_api_key(*, workspace: Workspace, name: str, created_by) -> tuple[ApiKey, str]:
    name = name.strip()
    if not name:
        raise DomainError("Give the key a name, such as the script that will use it.")
    return ApiKey.make(workspace=workspace, name=name, created_by=created_by)


def revoke_api_key(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at=None).update(revoked_at=timezone.now())


def prune_invitations() -> int:
    cutoff = timezone.now() - timedelta(days=30)
    deleted, _ = Invitation.objects.filter(accepted_at=None, expires_at__lt=cutoff).delete()
    return deleted


def queue_password_reset(*, user) -> None:
    from workspaces.tasks import send_password_reset as send_password_reset_task

    transaction.on_commit(lambda: send_password_reset_task.delay(user.pk))


def send_password_reset(*, user_id: int) -> bool:
    """Email a one-time link to choose a new password. Returns False if there is nothing to send."""
    from workspaces.emails import send_templated

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password() or not user.email:
        return False
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("password_reset_confirm", args=[uidb64, default_token_generator.make_token(user)])
    send_templated(
        "password-reset",
        [user.email],
        {"user": user, "url": settings.SITE_URL + path, "valid_for": _duration(settings.PASSWORD_RESET_TIMEOUT)},
    )
    return True


def _duration(seconds: int) -> str:
    hours, minutes = seconds // 3600, max(1, seconds // 60)
    if hours:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
