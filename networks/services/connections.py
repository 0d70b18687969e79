"""Network connections: create and edit them, check their API credentials with the network,
rotate postback secrets and the keys credentials are encrypted with.

Credentials are checked with one real call before anything is stored, whenever they
change (Impact: CompanyInformation, or a one-minute Actions window for a scoped token;
ShareASale: ``apitokencount``; Awin: ``GET /accounts``); secrets are stored encrypted only.
Credentials entered for the first time, or for another account, start the connection's
sync history afresh (``reset_sync_history``). The API is optional for ShareASale and Awin:
a connection without an account id takes postbacks only. A refusal raises CredentialError
naming the form field it belongs next to.
"""

import ipaddress
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from networks import awin, impact, shareasale
from networks.crypto import CredentialsUnreadable, encrypt_credentials, rotate_token
from networks.errors import NetworkError
from networks.impact import ImpactClient
from networks.models import (
    ClickExportJob,
    NetworkClickCount,
    NetworkConnection,
    NetworkPayout,
    NetworkProgram,
    ProcessedActionUpdate,
    SyncRun,
    SyncState,
)
from offers.models import NetworkKind
from workspaces.errors import DomainError
from workspaces.outbox import publish

NUMERIC_ID_RE = re.compile(r"^\d{1,20}$")

# The day of the month each network pays (the connection form's default):
# Impact on the 1st; ShareASale on the 20th for the previous month's locked sales; Awin runs
# payments on the 1st and the 15th, the 15th's run paying the rest of the previous month's
# validated commission, so with one settlement a month the 15th is the first day by which
# all of it has been paid (an expected settlement never comes before the money).
SETTLEMENT_DAYS = {NetworkKind.IMPACT: 1, NetworkKind.SHAREASALE: 20, NetworkKind.AWIN: 15}
DEFAULT_SETTLEMENT_DAY = 1


class CredentialError(DomainError):
    """A credential problem, with the form field it belongs next to (None: the whole form)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def default_settlement_day(kind: str) -> int:
    return SETTLEMENT_DAYS.get(kind, DEFAULT_SETTLEMENT_DAY)


def _is_new_account(conn: NetworkConnection, account_id: str) -> bool:
    return not conn.credentials_encrypted or account_id != conn.account_sid


def _forget_credentials(conn: NetworkConnection) -> None:
    """No API account: the connection takes postbacks only (an emptied account id removes the API access)."""
    conn.account_sid = ""
    conn.credentials_encrypted = ""
    conn.credentials_checked_at = None
    conn.api_credits_left = None
    conn.api_credits_checked_at = None


def _mark_checked(conn: NetworkConnection, account_id: str, secrets: dict) -> None:
    conn.account_sid = account_id
    conn.credentials_encrypted = encrypt_credentials(secrets)
    conn.credentials_checked_at = timezone.now()
    conn.status = NetworkConnection.Status.ACTIVE
    conn.status_message = ""


def connection_problems(data: dict, connection: NetworkConnection | None = None) -> dict[str, str]:
    """Every problem with a connection form's values that needs no call to the network, by field
    (None: the whole form), so the form can show them all at once. save_connection checks the
    same before anything else; the credential checks with the network come after."""
    problems: dict[str | None, str] = {}
    creating = connection is None
    kind = data.get("kind") if creating else connection.kind
    for line in (data.get("ip_allowlist") or "").replace(",", "\n").splitlines():
        if line.strip() and _not_a_network(line.strip()):
            problems["ip_allowlist"] = (
                f"'{line.strip()[:60]}' is not an IP address or CIDR range (e.g. 203.0.113.0/24)."
            )
            break
    username = (data.get("basic_auth_username") or "").strip()
    if username and not data.get("basic_auth_password"):
        unchanged = connection is not None and username == connection.basic_auth_username
        if not (unchanged and connection.basic_auth_password_hash):
            problems["basic_auth_password"] = "Enter a password for the postback HTTP Basic auth user."

    def needed(account_id: str) -> bool:
        return creating or not connection.credentials_encrypted or account_id != connection.account_sid

    if kind == NetworkKind.IMPACT:
        sid = (data.get("account_sid") or "").strip()
        if not impact.ACCOUNT_SID_RE.match(sid):
            problems["account_sid"] = "An Impact Account SID is 34 characters and starts with IR."
        elif not (data.get("auth_token") or "").strip() and needed(sid):
            problems["auth_token"] = "Enter the Auth Token for this Account SID."
    elif kind == NetworkKind.SHAREASALE:
        affiliate_id = (data.get("shareasale_affiliate_id") or "").strip()
        token = (data.get("shareasale_api_token") or "").strip()
        secret = (data.get("shareasale_api_secret") or "").strip()
        if affiliate_id or token or secret:
            if not NUMERIC_ID_RE.match(affiliate_id):
                problems["shareasale_affiliate_id"] = (
                    "A ShareASale affiliate id is a number (ShareASale: Tools > Affiliate API)."
                )
            elif (token or secret or needed(affiliate_id)) and not token:
                problems["shareasale_api_token"] = "Enter the API token for this affiliate id."
            if (token or (affiliate_id and needed(affiliate_id))) and not secret:
                problems["shareasale_api_secret"] = "Enter the API secret that goes with the token."
    elif kind == NetworkKind.AWIN:
        publisher_id = (data.get("awin_publisher_id") or "").strip()
        token = (data.get("awin_api_token") or "").strip()
        if publisher_id or token:
            if not NUMERIC_ID_RE.match(publisher_id):
                problems["awin_publisher_id"] = (
                    "An Awin publisher id is a number (the id in your Awin account's address)."
                )
            elif not token and needed(publisher_id):
                problems["awin_api_token"] = "Enter the API token for this publisher id."
    return problems


def _not_a_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return True
    return False


def apply_shareasale_credentials(conn: NetworkConnection, data: dict) -> bool:
    """Affiliate id, API token and API secret; checked with one ``apitokencount`` call.

    True when they start a new sync history (a first account, or another one)."""
    affiliate_id = (data.get("shareasale_affiliate_id") or "").strip()
    token = (data.get("shareasale_api_token") or "").strip()
    secret = (data.get("shareasale_api_secret") or "").strip()
    if not (affiliate_id or token or secret):
        _forget_credentials(conn)  # postbacks only
        return False
    if not token and not secret:
        return False  # the same account, its stored credentials kept (connection_problems checked the rest)
    try:
        credits = shareasale.check_credentials(affiliate_id=affiliate_id, api_token=token, api_secret=secret)
    except shareasale.AuthRefused as e:
        field = "shareasale_api_token" if e.code == "4075" else None
        raise CredentialError(e.message, field) from None
    except shareasale.RequestRefused as e:
        raise CredentialError(f"ShareASale did not accept the credential check: {e.message}") from None
    except NetworkError as e:
        raise CredentialError(f"Could not check the credentials with ShareASale: {e.message}") from None
    fresh = _is_new_account(conn, affiliate_id)
    _mark_checked(conn, affiliate_id, {"api_token": token, "api_secret": secret})
    conn.api_credits_left = credits
    conn.api_credits_checked_at = conn.credentials_checked_at
    return fresh


def apply_awin_credentials(conn: NetworkConnection, data: dict) -> bool:
    """Publisher id and OAuth token; checked with ``GET /accounts`` (the id must be among them).

    True when they start a new sync history (a first account, or another one)."""
    publisher_id = (data.get("awin_publisher_id") or "").strip()
    token = (data.get("awin_api_token") or "").strip()
    if not (publisher_id or token):
        _forget_credentials(conn)  # postbacks only
        return False
    if not token:
        return False  # the same account, its stored token kept (connection_problems checked the rest)
    try:
        awin.check_credentials(publisher_id=publisher_id, token=token)
    except (awin.AuthError, awin.ScopeError) as e:
        raise CredentialError(e.message, "awin_api_token") from None
    except awin.AccountNotFound as e:
        raise CredentialError(e.message, "awin_publisher_id") from None
    except awin.RateLimited as e:
        raise CredentialError(f"Awin is rate limiting this token; try again in {e.retry_after} seconds.") from None
    except NetworkError as e:
        raise CredentialError(f"Could not check the credentials with Awin: {e.message}") from None
    fresh = _is_new_account(conn, publisher_id)
    _mark_checked(conn, publisher_id, {"api_token": token})
    return fresh


def parse_allowlist(text: str) -> list[str]:
    """CIDR ranges, one per line (commas too); raises DomainError naming the bad line."""
    ranges = []
    for raw in text.replace(",", "\n").splitlines():
        line = raw.strip()
        if not line:
            continue
        try:
            ranges.append(str(ipaddress.ip_network(line, strict=False)))
        except ValueError:
            raise DomainError(f"'{line[:60]}' is not an IP address or CIDR range (e.g. 203.0.113.0/24).") from None
    return ranges


@dataclass
class CredentialCheck:
    """What Impact said about a token: its account information (when readable) and the
    endpoints it may not use (403)."""

    company: dict | None
    refused: list[str]

    @property
    def timezone(self) -> str:
        """CompanyInformation's Timezone when it is an IANA name we know, else ""."""
        name = str((self.company or {}).get("Timezone") or "").strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return ""
        return name

    def warning(self, setting: str) -> str:
        if not self.refused:
            return ""
        text = f"Impact accepted the credentials, but this token may not read {' or '.join(self.refused)} (403)."
        if "CompanyInformation" in self.refused:
            text += (
                f" The account's time zone is therefore taken from this connection's setting ({setting}): "
                "the click export asks only for days that have ended there."
            )
        if "Actions" in self.refused:
            text += " The Actions and Action updates syncs fail until the token has the Actions scope."
        return text


def check_impact_credentials(*, account_sid: str, auth_token: str) -> CredentialCheck:
    """Real calls, as few as possible; DomainError with plain words when Impact says no.

    CompanyInformation first (it also gives the account's time zone). A scoped token may not
    read it: then a one-minute window of Actions proves the credentials instead, and the
    refused endpoints are reported, not treated as a failure.
    """
    try:
        with ImpactClient(account_sid=account_sid, auth_token=auth_token, retries=1) as client:
            try:
                return CredentialCheck(client.company_information(), [])
            except impact.ScopeError:
                refused = ["CompanyInformation"]
            try:
                client.probe_actions()
            except impact.ScopeError:
                refused.append("Actions")
            return CredentialCheck(None, refused)
    except impact.AuthError:
        raise DomainError(
            "Impact rejected this Account SID and Auth Token. Copy both again from Impact "
            "(Settings > API) and make sure the token belongs to this Account SID."
        ) from None
    except impact.RateLimited as e:
        raise DomainError(f"Impact is rate limiting this account; try again in {e.retry_after} seconds.") from None
    except NetworkError as e:
        raise DomainError(f"Could not check the credentials with Impact: {e.message}") from None


# The columns save_connection (and the credential checks it calls) may change on an existing connection.
FORM_FIELDS = [
    "label",
    "currency",
    "settlement_day",
    "ip_allowlist",
    "sync_enabled",
    "timezone",
    "basic_auth_username",
    "basic_auth_password_hash",
    "account_sid",
    "credentials_encrypted",
    "credentials_checked_at",
    "network_timezone",
    "status",
    "status_message",
    "api_credits_left",
    "api_credits_checked_at",
]


@transaction.atomic
def save_connection(*, workspace, data: dict, connection: NetworkConnection | None = None) -> NetworkConnection:
    """Create or update a connection from validated form data (the module's docstring has the rules)."""
    problems = connection_problems(data, connection)
    if problems:
        field, message = next(iter(problems.items()))
        raise CredentialError(message, field)
    creating = connection is None
    kind = data["kind"] if creating else connection.kind
    conn = connection or NetworkConnection(workspace=workspace, kind=kind)
    allowlist = parse_allowlist(data.get("ip_allowlist") or "")
    conn.label = data["label"]
    conn.currency = data["currency"].upper()
    conn.settlement_day = data["settlement_day"]
    conn.ip_allowlist = "\n".join(allowlist)
    conn.sync_enabled = data.get("sync_enabled", True)
    conn.timezone = data.get("timezone") or conn.timezone or "UTC"
    username = (data.get("basic_auth_username") or "").strip()
    password = data.get("basic_auth_password") or ""
    if not username:
        conn.basic_auth_username, conn.basic_auth_password_hash = "", ""
    elif password:
        conn.basic_auth_username, conn.basic_auth_password_hash = username, make_password(password)
    fresh = False
    if kind == NetworkKind.IMPACT:
        fresh = _apply_impact_credentials(conn, data)
    elif kind == NetworkKind.SHAREASALE:
        fresh = apply_shareasale_credentials(conn, data)
    elif kind == NetworkKind.AWIN:
        fresh = apply_awin_credentials(conn, data)
    if creating:
        conn.save(force_insert=True)
    else:
        # Only what this form sets: the postback secret, and what syncs write (credits, the
        # account's time zone), may change meanwhile.
        conn.save(update_fields=[*FORM_FIELDS, "updated_at"])
    if fresh and not creating:
        reset_sync_history(connection=conn)
    return conn


def _apply_impact_credentials(conn: NetworkConnection, data: dict) -> bool:
    """Check and store new credentials; True when they start a new sync history."""
    sid = (data.get("account_sid") or "").strip()
    token = (data.get("auth_token") or "").strip()
    if not token:
        return False  # the same Account SID, its stored token kept (connection_problems checked the rest)
    check = check_impact_credentials(account_sid=sid, auth_token=token)
    fresh = _is_new_account(conn, sid)
    conn.account_sid = sid
    conn.credentials_encrypted = encrypt_credentials({"auth_token": token})
    conn.credentials_checked_at = timezone.now()
    conn.network_timezone = check.timezone
    conn.status = NetworkConnection.Status.ACTIVE
    conn.status_message = check.warning(conn.timezone)[:500]
    return fresh


def reset_sync_history(*, connection: NetworkConnection) -> None:
    """Forget what the syncs remembered for the connection's previous account (or demo data):
    runs, cursors, applied updates, click exports and counts, learned programs. A run still
    active is kept, marked failed, so a new one can start. The next Actions run reads the
    first 90 days again."""
    now = timezone.now()
    active = list(SyncRun.objects.filter(connection=connection, status__in=SyncRun.ACTIVE).values_list("id", flat=True))
    SyncRun.objects.filter(id__in=active).update(
        status=SyncRun.Status.FAILED,
        error="The connection's credentials changed; the next run starts afresh.",
        finished_at=now,
        retry_at=None,
        updated_at=now,
    )
    SyncState.objects.filter(connection=connection).delete()
    ProcessedActionUpdate.objects.filter(connection=connection).delete()
    ClickExportJob.objects.filter(connection=connection).delete()
    NetworkClickCount.objects.filter(connection=connection).delete()
    NetworkProgram.objects.filter(connection=connection).delete()
    # Payments another account reported; those already tied to a settlement stay with it.
    NetworkPayout.objects.filter(connection=connection, settlement__isnull=True).delete()
    SyncRun.objects.filter(connection=connection).exclude(id__in=active).delete()


def rotate_postback_secret(*, connection: NetworkConnection) -> NetworkConnection:
    connection.rotate_secret()
    return connection


def rotate_credentials_all_workspaces() -> tuple[int, list[str]]:
    """Re-encrypt every stored credential with the newest key: (rotated, problems)."""
    rotated, problems = 0, []
    for conn in NetworkConnection.objects.exclude(credentials_encrypted="").only(
        "id", "label", "credentials_encrypted"
    ):
        try:
            token = rotate_token(conn.credentials_encrypted)
        except CredentialsUnreadable:
            problems.append(f"{conn.label} (id {conn.id}): no configured key decrypts its credentials")
            continue
        NetworkConnection.objects.filter(id=conn.id).update(credentials_encrypted=token)
        rotated += 1
    return rotated, problems


def mark_connection_broken(*, connection: NetworkConnection, message: str) -> None:
    was = connection.status
    connection.status = NetworkConnection.Status.BROKEN
    connection.status_message = message[:500]
    connection.save(update_fields=["status", "status_message", "updated_at"])
    if was != NetworkConnection.Status.BROKEN:
        publish(
            workspace=connection.workspace,
            topic="connection.broken",
            subject=f"connection:{connection.code}",
            data={"id": str(connection.code), "label": connection.label, "kind": connection.kind, "message": message},
        )
