"""API credentials of ShareASale and Awin connections, checked with the network before saving.

Called by services.save_connection for these kinds. The API is optional: a connection
without an account id takes postbacks only. Each ``apply_*`` validates the form's values,
makes one real call when the credentials change (ShareASale: ``apitokencount``;
Awin: ``GET /accounts``), then sets the account id in clear and the secrets encrypted on the
(unsaved) connection. A refusal raises CredentialError naming the form field it belongs to.
"""

import re

from django.utils import timezone

from networks import awin, shareasale
from networks.crypto import encrypt_credentials
from offers.models import NetworkConnection, NetworkKind
from workspaces.errors import DomainError

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


def _credentials_needed(conn: NetworkConnection, account_id: str, *, creating: bool) -> bool:
    return creating or not conn.credentials_encrypted or account_id != conn.account_sid


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


def apply_shareasale_credentials(conn: NetworkConnection, data: dict, *, creating: bool) -> None:
    """Affiliate id, API token and API secret; checked with one ``apitokencount`` call."""
    affiliate_id = (data.get("shareasale_affiliate_id") or "").strip()
    token = (data.get("shareasale_api_token") or "").strip()
    secret = (data.get("shareasale_api_secret") or "").strip()
    if not (affiliate_id or token or secret):
        _forget_credentials(conn)  # postbacks only
        return
    if not NUMERIC_ID_RE.match(affiliate_id):
        raise CredentialError(
            "A ShareASale affiliate id is a number (ShareASale: Tools > Affiliate API).", "shareasale_affiliate_id"
        )
    if not token and not secret and not _credentials_needed(conn, affiliate_id, creating=creating):
        return
    if not token:
        raise CredentialError("Enter the API token for this affiliate id.", "shareasale_api_token")
    if not secret:
        raise CredentialError("Enter the API secret that goes with the token.", "shareasale_api_secret")
    try:
        credits = shareasale.check_credentials(affiliate_id=affiliate_id, api_token=token, api_secret=secret)
    except shareasale.AuthError as e:
        field = "shareasale_api_token" if e.code == "4075" else None
        raise CredentialError(e.message, field) from None
    except shareasale.RequestRefused as e:
        raise CredentialError(f"ShareASale did not accept the credential check: {e.message}") from None
    except shareasale.ShareASaleError as e:
        raise CredentialError(f"Could not check the credentials with ShareASale: {e.message}") from None
    _mark_checked(conn, affiliate_id, {"api_token": token, "api_secret": secret})
    conn.api_credits_left = credits
    conn.api_credits_checked_at = conn.credentials_checked_at


def apply_awin_credentials(conn: NetworkConnection, data: dict, *, creating: bool) -> None:
    """Publisher id and OAuth token; checked with ``GET /accounts`` (the id must be among them)."""
    publisher_id = (data.get("awin_publisher_id") or "").strip()
    token = (data.get("awin_api_token") or "").strip()
    if not (publisher_id or token):
        _forget_credentials(conn)  # postbacks only
        return
    if not NUMERIC_ID_RE.match(publisher_id):
        raise CredentialError(
            "An Awin publisher id is a number (the id in your Awin account's address).", "awin_publisher_id"
        )
    if not token and not _credentials_needed(conn, publisher_id, creating=creating):
        return
    if not token:
        raise CredentialError("Enter the API token for this publisher id.", "awin_api_token")
    try:
        awin.check_credentials(publisher_id=publisher_id, token=token)
    except (awin.AuthError, awin.ScopeError) as e:
        raise CredentialError(e.message, "awin_api_token") from None
    except awin.AccountNotFound as e:
        raise CredentialError(e.message, "awin_publisher_id") from None
    except awin.RateLimited as e:
        raise CredentialError(f"Awin is rate limiting this token; try again in {e.retry_after} seconds.") from None
    except awin.AwinError as e:
        raise CredentialError(f"Could not check the credentials with Awin: {e.message}") from None
    _mark_checked(conn, publisher_id, {"api_token": token})
