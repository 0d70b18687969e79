"""Promo codes: the member page's list and form, removal, the CSV import and export."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from offers import services
from offers.models import PromoCode
from tests.conftest import set_role
from tests.offers.conftest import make_member, make_offer
from workspaces.errors import DomainError


def add_url(member):
    return reverse("offers:add_promo_code", kwargs={"code": member.code})


def upload(client, text):
    file = SimpleUploadedFile("codes.csv", text.encode(), "text/csv")
    return client.post(reverse("offers:import_promo_codes"), {"file": file})


def test_it_adds_a_code_for_all_offers_and_shows_it(alice_client, member):
    response = alice_client.post(add_url(member), {"text": " Ava20 ", "offer": ""})
    assert response.status_code == 302
    code = PromoCode.objects.get()
    assert (code.text, code.key, code.offer, code.member) == ("Ava20", "AVA20", None, member)
    page = alice_client.get(reverse("tracking:member_detail", kwargs={"code": member.code})).content.decode()
    assert "Ava20" in page and "All offers" in page


def test_it_adds_a_code_for_one_offer(alice_client, member, offer):
    alice_client.post(add_url(member), {"text": "AVASPRING", "offer": str(offer.code)})
    assert PromoCode.objects.get().offer == offer


def test_codes_are_unique_whatever_their_case_and_the_error_sits_by_the_field(alice_client, member, workspace):
    ben = make_member(workspace, "Ben")
    services.create_promo_code(member=ben, text="SUMMER")
    response = alice_client.post(add_url(member), {"text": "summer", "offer": ""}, follow=True)
    assert "already taken by Ben" in response.content.decode()
    assert PromoCode.objects.count() == 1


def test_the_same_code_may_exist_in_another_workspace(member, other_workspace):
    services.create_promo_code(member=make_member(other_workspace, "Cara"), text="SUMMER")
    services.create_promo_code(member=member, text="SUMMER")
    assert PromoCode.objects.count() == 2


def test_a_member_may_have_many_codes(member):
    services.create_promo_code(member=member, text="ONE")
    services.create_promo_code(member=member, text="TWO")
    assert member.promo_codes.count() == 2


@pytest.mark.parametrize("text", ["", "a", "has space", "é-code", "x" * 65])
def test_it_refuses_codes_a_network_cannot_send(member, text):
    with pytest.raises(DomainError):
        services.create_promo_code(member=member, text=text)


def test_it_refuses_another_workspaces_offer(member, other_workspace):
    with pytest.raises(DomainError):
        services.create_promo_code(member=member, text="X1", offer=make_offer(other_workspace))


def test_it_removes_a_code(alice_client, member):
    code = services.create_promo_code(member=member, text="GONE")
    response = alice_client.post(reverse("offers:delete_promo_code", kwargs={"code": code.code}))
    assert response.status_code == 302
    assert not PromoCode.objects.exists()


def test_it_requires_write_access(bob_client, bob, workspace, member):
    set_role(bob, workspace, "viewer")
    code = services.create_promo_code(member=member, text="KEEP")
    assert bob_client.post(add_url(member), {"text": "NEW"}).status_code == 403
    assert bob_client.post(reverse("offers:delete_promo_code", kwargs={"code": code.code})).status_code == 403
    assert bob_client.get(reverse("offers:import_promo_codes")).status_code == 403
    assert PromoCode.objects.count() == 1


def test_it_checks_ownership(charlie_client, member):
    code = services.create_promo_code(member=member, text="MINE")
    assert charlie_client.post(add_url(member), {"text": "THEIRS"}).status_code == 404
    assert charlie_client.post(reverse("offers:delete_promo_code", kwargs={"code": code.code})).status_code == 404
    assert PromoCode.objects.count() == 1


def test_the_import_creates_every_row(alice_client, workspace, member, offer):
    ben = make_member(workspace, "Ben", email="ben@x.test")
    text = f"code,member,offer\nAVA1,{member.affiliate_id},{offer.name}\nben1,BEN@x.test,\nben2,ben@x.test,\n"
    response = upload(alice_client, text)
    assert response.status_code == 302
    codes = {c.key: c for c in PromoCode.objects.all()}
    assert codes["AVA1"].offer == offer and codes["AVA1"].member == member
    assert codes["BEN1"].member == ben and codes["BEN1"].offer is None and codes["BEN1"].text == "ben1"
    assert len(codes) == 3


def test_the_import_reports_each_bad_row_and_writes_nothing(alice_client, workspace, member, other_workspace):
    services.create_promo_code(member=member, text="TAKEN")
    stranger = make_member(other_workspace, "Cara", email="cara@x.test")
    aff = member.affiliate_id
    text = (
        "code,member,offer\n"
        f"GOOD,{aff},\n"
        f"taken,{aff},\n"
        f"good,{aff},\n"
        "NEW1,nobody@x.test,\n"
        f"NEW2,{stranger.email},\n"
        f"NEW3,{aff},No such offer\n"
        f"has space,{aff},\n"
        "NEW4\n"
    )
    response = upload(alice_client, text)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported" in page
    report = services.import_promo_codes(workspace=workspace, data=text.encode())
    lines = sorted({line for line, _ in report.errors})
    assert lines == [3, 4, 5, 6, 7, 8, 9]
    assert any("also appears on line 2" in e for _, e in report.errors)
    assert any("already taken" in e for _, e in report.errors)
    assert PromoCode.objects.count() == 1


def test_the_import_refuses_a_file_without_the_required_columns(alice_client, workspace):
    with pytest.raises(DomainError, match="code, member required"):
        services.import_promo_codes(workspace=workspace, data=b"code,offer\nX,\n")


def test_the_export_lists_the_workspaces_codes(alice_client, member, other_workspace):
    services.create_promo_code(member=member, text="AVA1")
    services.create_promo_code(member=make_member(other_workspace, "Cara"), text="CARA1")
    response = alice_client.get(reverse("offers:export_promo_codes"))
    body = b"".join(response.streaming_content).decode()
    assert "AVA1" in body and member.affiliate_id in body
    assert "CARA1" not in body
