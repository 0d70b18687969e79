"""rotatetaxids: tax ids move to the newest key; one no key can read is reported, not lost."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from networks.crypto import decrypt_credentials
from portal import services
from portal.models import TaxForm

W8 = {
    "kind": "w8ben",
    "legal_name": "Ava Trails",
    "country": "DE",
    "address": "1 Weg",
    "tax_id": "DE123456789",
    "signed_name": "Ava Trails",
}


def test_it_re_encrypts_with_the_newest_key(ava, settings, capsys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FERNET_KEYS = [old]
    services.save_tax_form(member=ava.member, data=W8)
    before = TaxForm.objects.get().tax_id_encrypted
    settings.FERNET_KEYS = [new, old]
    call_command("rotatetaxids")
    assert "Re-encrypted 1 tax id(s)" in capsys.readouterr().out
    settings.FERNET_KEYS = [new]
    after = TaxForm.objects.get().tax_id_encrypted
    assert after != before and decrypt_credentials(after) == {"tax_id": "DE123456789"}


def test_an_unreadable_tax_id_is_reported(ava, settings):
    settings.FERNET_KEYS = [Fernet.generate_key().decode()]
    services.save_tax_form(member=ava.member, data=W8)
    settings.FERNET_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError):
        call_command("rotatetaxids")
