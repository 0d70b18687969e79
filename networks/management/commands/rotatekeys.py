"""Re-encrypt every stored credential with the newest FERNET_KEYS key.

Network credentials are this app's own; an app above it that keeps secrets with the same keys
(webhook signing secrets) offers ``rotate_secrets_at_rest()`` on its AppConfig, returning
(rotated, problems) like ``rotate_credentials_all_workspaces``, and is called too.
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from networks import services


class Command(BaseCommand):
    help = "Re-encrypt all stored credentials and secrets with the first key in FERNET_KEYS."

    def handle(self, *args, **options):
        rotated, problems = services.rotate_credentials_all_workspaces()
        for config in apps.get_app_configs():
            rotate = getattr(config, "rotate_secrets_at_rest", None)
            if rotate is not None:
                more, more_problems = rotate()
                rotated, problems = rotated + more, problems + more_problems
        for problem in problems:
            self.stderr.write(problem)
        self.stdout.write(f"Re-encrypted {rotated} credential(s) with the newest key; {len(problems)} unreadable.")
        if problems:
            raise CommandError("Some credentials could not be decrypted; keep the old key until they are re-entered.")
