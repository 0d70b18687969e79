import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from offers import services
from offers.models import Member
from tests.offers.conftest import make_member


def upload(client, text, name="members.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(reverse("offers:import_members"), {"file": SimpleUploadedFile(name, data, "text/csv")})


GOOD = """name,email,handle,paypal_email,project,is_test
Ava Trails,ava@creators.test,@ava,ava@paypal.test,Spring Launch,no
Test Member,qa@brand.test,,,,yes
"""


def test_it_imports_every_row(alice_client, workspace, project):
    r = upload(alice_client, GOOD)
    assert r.status_code == 302
    ava = Member.objects.get(workspace=workspace, email="ava@creators.test")
    assert ava.project == project and ava.handle == "@ava" and ava.paypal_email == "ava@paypal.test"
    assert not ava.is_test
    assert Member.objects.get(email="qa@brand.test").is_test
    assert ava.affiliate_id != Member.objects.get(email="qa@brand.test").affiliate_id


def test_it_imports_nothing_when_one_row_fails_and_reports_each_row(alice_client, workspace, project):
    text = """name,email,handle,paypal_email,project,is_test
Good One,good@x.test,,,,no
,nameless@x.test,,,,no
Bad Mail,not-an-email,,,,no
Lost,lost@x.test,,,Nowhere,maybe
Twin,good@x.test,,,,no
"""
    r = upload(alice_client, text)
    assert r.status_code == 400
    assert not Member.objects.exists()  # all or nothing
    errors = r.context["report"].errors
    assert (3, "name is required") in errors
    assert (4, "email 'not-an-email' is not a valid email address") in errors
    assert (5, "project 'Nowhere' does not exist (create it first)") in errors
    assert (5, "is_test 'maybe' must be yes/no, true/false or 1/0") in errors
    assert (6, "email good@x.test also appears on line 2") in errors
    assert b"Nothing was imported" in r.content


def test_existing_emails_are_updated_not_duplicated(alice_client, workspace):
    existing = make_member(workspace, "Ava Old", email="ava@creators.test", paypal_email="old@paypal.test")
    r = upload(alice_client, "email,name,handle\nAVA@creators.test,Ava New,@new\nben@x.test,Ben,\n")
    assert r.status_code == 302
    existing.refresh_from_db()
    assert existing.name == "Ava New" and existing.handle == "@new"
    assert existing.paypal_email == "old@paypal.test"  # columns absent from the file stay as they were
    assert Member.objects.filter(workspace=workspace).count() == 2


def test_it_requires_a_header(alice_client):
    r = upload(alice_client, "Ava,ava@x.test\n")
    assert r.status_code == 400
    assert b"header" in r.content
    r = upload(alice_client, "name,email,shoe_size\nAva,a@x.test,9\n")
    assert b"Unknown: shoe_size" in r.content
    assert not Member.objects.exists()


def test_it_rejects_binary_empty_and_ragged_files(alice_client):
    assert b"not UTF-8" in upload(alice_client, b"\xff\xfe\x00n\x00a").content
    assert b"is empty" in upload(alice_client, b"").content
    assert b"no members" in upload(alice_client, b"name,email\n").content
    r = upload(alice_client, "name,email\nAva,a@x.test,extra\n")
    assert r.context["report"].errors == [(2, "expected 2 values, found 3")]
    assert not Member.objects.exists()


def test_it_round_trips_the_export(alice_client, workspace, project):
    make_member(workspace, "Ava", email="ava@x.test", project=project)
    exported = b"".join(alice_client.get(reverse("reports:export_members")).streaming_content)
    r = upload(alice_client, exported)
    assert r.status_code == 302
    assert Member.objects.filter(workspace=workspace).count() == 1


HOSTILE_NAMES = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "'=quoted", "'Tis", "Zoë; Ünal"]


def test_an_export_reimported_gives_the_same_members(alice_client, workspace, other_workspace):
    # The export defuses formula-like names with a quote; the import must take exactly that quote off.
    for i, name in enumerate(HOSTILE_NAMES):
        make_member(workspace, name, email=f"m{i}@x.test", handle=f"-h{i}", paypal_email=f"p{i}@x.test")
    exported = b"".join(alice_client.get(reverse("reports:export_members")).streaming_content)
    names = {row[0] for row in csv.reader(io.StringIO(exported.decode("utf-8-sig")))}
    assert '\'=HYPERLINK("http://x","y")' in names and "'-2+3" in names

    report = services.import_members(workspace=other_workspace, data=exported)

    assert report.ok and report.created == len(HOSTILE_NAMES)
    fields = ("name", "email", "handle", "paypal_email", "is_test")
    mine = set(Member.objects.filter(workspace=workspace).values_list(*fields))
    theirs = set(Member.objects.filter(workspace=other_workspace).values_list(*fields))
    assert theirs == mine
    # Re-imported where they came from, the same file changes nothing.
    Member.objects.filter(workspace=workspace).update(name="renamed")
    assert upload(alice_client, exported).status_code == 302
    assert set(Member.objects.filter(workspace=workspace).values_list(*fields)) == mine


def test_it_accepts_semicolons_and_a_bom(workspace):
    report = services.import_members(workspace=workspace, data="\ufeffname;email\nAva;ava@x.test\n".encode())
    assert report.ok and report.created == 1
    assert Member.objects.get().email == "ava@x.test"


def test_it_requires_write_access(bob_client, bob, workspace):
    from tests.conftest import set_role

    set_role(bob, workspace, "viewer")
    assert upload(bob_client, GOOD).status_code == 403
    assert not Member.objects.exists()


def test_it_does_not_touch_other_workspaces(alice_client, workspace, other_workspace):
    theirs = make_member(other_workspace, "Theirs", email="ava@creators.test")
    r = upload(alice_client, "name,email\nAva,ava@creators.test\n")
    assert r.status_code == 302
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"
    assert Member.objects.get(workspace=workspace).name == "Ava"
