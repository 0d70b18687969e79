"""Credentials at rest: Fernet with rotation, and the rotatekeys command."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from networks.crypto import CredentialsUnreadable, decrypt_credentials, encrypt_credentials
from tests.networks.conftest import make_impact_connection

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_it_round_trips_and_never_stores_plain_text(settings):
    settings.FERNET_KEYS = [OLD]
    token = encrypt_credentials({"auth_token": "plain-token-123"})
    assert "plain-token-123" not in token
    assert decrypt_credentials(token) == {"auth_token": "plain-token-123"}


def test_without_fernet_keys_a_key_is_derived_from_secret_key(settings):
    settings.FERNET_KEYS = []
    token = encrypt_credentials({"auth_token": "x"})
    assert decrypt_credentials(token) == {"auth_token": "x"}
    settings.SECRET_KEY = "another-secret-key-entirely-0123456789"
    with pytest.raises(CredentialsUnreadable):
        decrypt_credentials(token)


def test_older_keys_still_decrypt_after_a_new_key_is_added(settings):
    settings.FERNET_KEYS = [OLD]
    token = encrypt_credentials({"auth_token": "x"})
    settings.FERNET_KEYS = [NEW, OLD]
    assert decrypt_credentials(token) == {"auth_token": "x"}


@pytest.mark.django_db
def test_rotatekeys_re_encrypts_every_credential_with_the_newest_key(settings, workspace, other_workspace, capsys):
    settings.FERNET_KEYS = [OLD]
    first = make_impact_connection(workspace, token="tok-a")
    second = make_impact_connection(other_workspace, token="tok-b")
    settings.FERNET_KEYS = [NEW, OLD]
    call_command("rotatekeys")
    assert "Re-encrypted 2 credential(s)" in capsys.readouterr().out
    settings.FERNET_KEYS = [NEW]  # the old key can go now
    for conn, token in ((first, "tok-a"), (second, "tok-b")):
        conn.refresh_from_db()
        assert decrypt_credentials(conn.credentials_encrypted) == {"auth_token": token}


@pytest.mark.django_db
def test_rotatekeys_reports_credentials_no_key_can_read(settings, workspace):
    settings.FERNET_KEYS = [OLD]
    make_impact_connection(workspace, label="Lost key")
    settings.FERNET_KEYS = [NEW]
    with pytest.raises(CommandError, match="could not be decrypted"):
        call_command("rotatekeys")
