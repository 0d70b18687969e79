from django.apps import AppConfig


class OutboundConfig(AppConfig):
    name = "outbound"
    verbose_name = "Webhooks, member postbacks and alerts"

    def rotate_secrets_at_rest(self) -> tuple[int, list[str]]:
        """For ``manage.py rotatekeys``: re-encrypt webhook signing secrets with the newest key."""
        from outbound.services.webhooks import reencrypt_secrets_all_workspaces

        return reencrypt_secrets_all_workspaces()
