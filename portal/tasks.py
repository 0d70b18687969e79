from celery import shared_task

from portal import services


@shared_task
def send_sign_in_email(access_ids: list[int], purpose: str) -> int:
    return services.send_sign_in_email(access_ids=access_ids, purpose=purpose)


@shared_task
def send_payout_email_confirmation(change_id: int) -> bool:
    return services.send_payout_email_confirmation(change_id=change_id)


@shared_task
def notify_members() -> int:
    services.collect_notifications_all_workspaces()
    return services.send_notifications_all_workspaces()
