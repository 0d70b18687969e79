"""Verify the ledger's invariants; exits 1 and lists every violation when one fails."""

import sys

from django.core.management.base import BaseCommand, CommandError

from payments.selectors import check_ledger
from workspaces.models import Workspace


class Command(BaseCommand):
    help = "Check that every ledger transaction balances, cached balances match, no balance is negative "
    help += "and no payable was paid twice."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="Workspace slug or code (default: every workspace).")

    def handle(self, *args, **options):
        workspace = None
        if options["workspace"]:
            key = options["workspace"]
            workspace = Workspace.objects.filter(slug=key).first()
            if workspace is None:
                try:
                    workspace = Workspace.objects.filter(code=key).first()
                except Exception:
                    workspace = None
            if workspace is None:
                raise CommandError(f"No workspace with slug or code {key!r}.")
        report = check_ledger(workspace=workspace)
        scope = f"workspace {workspace.slug}" if workspace else "all workspaces"
        if report.ok:
            self.stdout.write(
                f"Ledger OK for {scope}: {report.transactions} transactions, {report.accounts} accounts, no violations."
            )
            return
        self.stderr.write(f"Ledger check FAILED for {scope}: {len(report.violations)} violation(s):")
        for violation in report.violations:
            self.stderr.write(f"  - {violation}")
        sys.exit(1)
