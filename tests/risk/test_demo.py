"""seeddemo leaves two conversions on hold in Review, once, and the ledger clean."""

from django.core.management import call_command

from payments.selectors import check_ledger
from risk.models import Case, Verdict
from workspaces.models import Workspace


def test_the_demo_has_a_review_queue_and_seeding_twice_adds_nothing(db):
    call_command("seeddemo")
    call_command("seeddemo")
    ws = Workspace.objects.get(slug="demo-brand")
    cases = Case.objects.filter(workspace=ws)
    assert cases.count() == 2 and {c.status for c in cases} == {"held"}
    assert set(Verdict.objects.filter(workspace=ws).values_list("rule", flat=True)) == {"too_soon", "duplicate_order"}
    assert check_ledger(workspace=ws).ok
