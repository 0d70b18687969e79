"""Credentials at rest: Fernet with key rotation.

``settings.FERNET_KEYS`` lists keys newest first: the first encrypts, all decrypt.
Without it, one key is derived from SECRET_KEY so development needs no set-up.
To rotate: put a new key first, keep the old ones, run ``manage.py rotatekeys``
(re-encrypts every stored credential with the newest key), then drop the old keys.
"""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class CredentialsUnreadable(Exception):
    """No configured key can decrypt the stored credentials (a key was dropped too early)."""


def _derived_key() -> bytes:
    digest = hashlib.sha256(("hub-credentials:" + settings.SECRET_KEY).encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.FERNET_KEYS if k.strip()] or [_derived_key().decode()]
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt_credentials(values: dict) -> str:
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt_credentials(token: str) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise CredentialsUnreadable(
            "The stored credentials cannot be decrypted with the configured FERNET_KEYS; enter them again."
        ) from None


def rotate_token(token: str) -> str:
    """Re-encrypt ``token`` with the newest key (raises CredentialsUnreadable)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise CredentialsUnreadable("No configured key decrypts these credentials.") from None
