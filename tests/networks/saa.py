"""Shared bits of the ShareASale and Awin tests: base URLs, fixture files, connections."""

from pathlib import Path

from networks.crypto import encrypt_credentials
from offers.models import NetworkConnection

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SHAREASALE_BASE = "https://shareasale.test"
SHAREASALE_URL = f"{SHAREASALE_BASE}/x.cfm"
AWIN_BASE = "https://awin.test"
AFFILIATE_ID = "1234567"
API_TOKEN = "TESTTOKEN0000001"
API_SECRET = "TESTSECRET00000000000000000000001"
PUBLISHER_ID = "45628"
AWIN_TOKEN = "awin-oauth-token-never-shown-7Qx"


def shareasale_body(name: str) -> bytes:
    return (FIXTURES / "shareasale" / name).read_bytes()


def awin_body(name: str) -> bytes:
    return (FIXTURES / "awin" / name).read_bytes()


def transactions_url(publisher_id: str = PUBLISHER_ID) -> str:
    return f"{AWIN_BASE}/publishers/{publisher_id}/transactions/"


def in_chunks(body: bytes, size: int = 7):
    """The body as a stream of small chunks, so parsers meet every boundary."""
    return [body[i : i + size] for i in range(0, len(body), size)]


def make_shareasale_connection(workspace, **kw) -> NetworkConnection:
    return NetworkConnection.objects.create(
        workspace=workspace,
        kind="shareasale",
        label=kw.pop("label", "ShareASale"),
        account_sid=AFFILIATE_ID,
        credentials_encrypted=encrypt_credentials({"api_token": API_TOKEN, "api_secret": API_SECRET}),
        settlement_day=20,
        **kw,
    )


def make_awin_connection(workspace, **kw) -> NetworkConnection:
    return NetworkConnection.objects.create(
        workspace=workspace,
        kind="awin",
        label=kw.pop("label", "Awin"),
        account_sid=PUBLISHER_ID,
        credentials_encrypted=encrypt_credentials({"api_token": AWIN_TOKEN}),
        settlement_day=15,
        **kw,
    )
