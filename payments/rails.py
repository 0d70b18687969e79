"""Payout rails. "manual" needs no code here (it records an external payment);
"paypal" talks to the PayPal Payouts API over httpx.

PayPal flow: an OAuth2 client-credentials token from /v1/oauth2/token, one
POST /v1/payments/payouts per payment run with sender_batch_header.sender_batch_id
set to the run's idempotency key (PayPal refuses a second batch with the same id,
and the PayPal-Request-Id header makes a retried POST return the first answer),
then GET /v1/payments/payouts/<payout_batch_id> until every item is final.
"""

from dataclasses import dataclass

import httpx
from django.conf import settings

from workspaces.errors import DomainError

TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@dataclass
class PayPalError(Exception):
    message: str
    status_code: int | None = None
    # True for network errors, 429 and 5xx: worth retrying later with the same ids.
    transient: bool = False

    def __str__(self):
        return self.message


class PayPalClient:
    def __init__(self, *, base_url: str, client_id: str, client_secret: str, http: httpx.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.http = http or httpx.Client(timeout=TIMEOUT)
        self._token: str | None = None

    @classmethod
    def from_settings(cls) -> "PayPalClient":
        if not (settings.PAYPAL_CLIENT_ID and settings.PAYPAL_CLIENT_SECRET):
            raise DomainError("PayPal is not configured: set PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET.")
        return cls(
            base_url=settings.PAYPAL_API_BASE_URL,
            client_id=settings.PAYPAL_CLIENT_ID,
            client_secret=settings.PAYPAL_CLIENT_SECRET,
        )

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            response = self.http.request(method, self.base_url + path, **kwargs)
        except httpx.HTTPError as e:
            raise PayPalError(f"PayPal could not be reached: {e.__class__.__name__}", transient=True) from e
        if response.status_code >= 400:
            raise self._error(response)
        return response

    @staticmethod
    def _error(response: httpx.Response) -> PayPalError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        name = body.get("name") or body.get("error") or ""
        message = body.get("message") or body.get("error_description") or response.reason_phrase
        details = "; ".join(
            d.get("issue", "") + (f" ({d['field']})" if d.get("field") else "") for d in body.get("details", []) or []
        )
        text = f"PayPal answered {response.status_code} {name}: {message}" + (f" [{details}]" if details else "")
        transient = response.status_code == 429 or response.status_code >= 500
        return PayPalError(text, status_code=response.status_code, transient=transient)

    def token(self) -> str:
        if self._token is None:
            response = self._send(
                "POST",
                "/v1/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret),
                headers={"Accept": "application/json"},
            )
            self._token = response.json()["access_token"]
        return self._token

    def _headers(self, **extra) -> dict:
        return {"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json", **extra}

    def create_payout(self, *, sender_batch_id: str, items: list[dict], subject: str) -> dict:
        body = {
            "sender_batch_header": {
                "sender_batch_id": sender_batch_id,
                "email_subject": subject,
                "email_message": "Thank you for promoting us.",
            },
            "items": [
                {
                    "recipient_type": "EMAIL",
                    "amount": {"value": item["amount"], "currency": item["currency"]},
                    "receiver": item["receiver"],
                    "note": item.get("note", ""),
                    "sender_item_id": item["sender_item_id"],
                }
                for item in items
            ],
        }
        response = self._send(
            "POST", "/v1/payments/payouts", json=body, headers=self._headers(**{"PayPal-Request-Id": sender_batch_id})
        )
        return response.json()

    def get_payout(self, payout_batch_id: str) -> dict:
        response = self._send(
            "GET", f"/v1/payments/payouts/{payout_batch_id}", params={"page_size": 1000}, headers=self._headers()
        )
        return response.json()
