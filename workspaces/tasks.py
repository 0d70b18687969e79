from celery import shared_task

from workspaces import services


@shared_task
def send_invitation(invitation_id: int) -> bool:
    return services.send_invitation(invitation_id=invitation_id)


@shared_task
def send_password_reset(user_id: int) -> bool:
    return services.send_password_reset(user_id=user_id)


@shared_task
def prune_invitations() -> int:
    return services.prune_invitations()
