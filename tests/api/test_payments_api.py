from decimal import Decimal

from offers.models import Member
from payments.models import Payment, PaymentBatch


def make_payment(workspace, member, amount, status="paid", key="k"):
    batch = PaymentBatch.objects.create(workspace=workspace, idempotency_key=key, rail="manual", currency="USD")
    return Payment.objects.create(
        workspace=workspace,
        batch=batch,
        member=member,
        amount=Decimal(amount),
        currency="USD",
        rail="manual",
        status=status,
        idempotency_key=key,
        reference="bank-123",
    )


def test_it_lists_payments(api, workspace):
    ava = Member.objects.create(workspace=workspace, name="Ava")
    ben = Member.objects.create(workspace=workspace, name="Ben")
    make_payment(workspace, ava, "12.50", key="a")
    make_payment(workspace, ben, "3.00", status="pending", key="b")
    r = api.get("/api/v1/payments/")
    assert r.status_code == 200
    rows = r.json()["results"]
    assert [(p["member_name"], p["amount"], p["status"]) for p in rows] == [
        ("Ben", "3.00", "pending"),
        ("Ava", "12.50", "paid"),
    ]
    r = api.get("/api/v1/payments/", {"member": str(ava.code)})
    assert [p["reference"] for p in r.json()["results"]] == ["bank-123"]
    r = api.get("/api/v1/payments/", {"status": "pending"})
    assert [p["member"] for p in r.json()["results"]] == [str(ben.code)]
    assert api.get("/api/v1/payments/", {"status": "lost"}).status_code == 400


def test_another_workspace_sees_no_payments(other_api, workspace):
    ava = Member.objects.create(workspace=workspace, name="Ava")
    make_payment(workspace, ava, "12.50")
    assert other_api.get("/api/v1/payments/").json()["results"] == []
    assert other_api.get("/api/v1/payments/", {"member": str(ava.code)}).status_code == 422
