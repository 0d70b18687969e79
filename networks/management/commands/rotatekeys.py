"""Re-encrypt every stored network credential with the newest FERNET_KEYS key."""

from django.core.management.base import BaseCommand, CommandError

from networks import services


class Command(BaseCommand):
    help = "Re-encrypt all stored network credentials with the first key in FERNET_KEYS."

    def handle(self, *args, **options):
        rotated, problems = services.rotate_credentials_all_workspaces()
        for problem in problems:
            self.stderr.write(problem)
        self.stdout.write(f"Re-encrypted {rotated} credential(s) with the newest key; {len(problems)} unreadable.")
        if problems:
            raise CommandError("Some credentials could not be decrypted; keep the old key until they are re-entered.")
