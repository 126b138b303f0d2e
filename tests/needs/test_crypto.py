"""charity.crypto: a malformed key stops start-up naming FIELD_ENCRYPTION_KEYS; tokens are opaque."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from charity import crypto
from tests.charity.test_settings import manage


@pytest.mark.parametrize("raw", ["", "not-a-key", "abc,def", "A" * 42, "=" * 44])
def test_a_malformed_key_is_refused_naming_the_variable(raw):
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        crypto.parse_keys(raw)


def test_the_same_key_twice_is_refused():
    key = Fernet.generate_key().decode()
    with pytest.raises(ImproperlyConfigured, match="twice"):
        crypto.parse_keys(f"{key},{key}")


def test_a_malformed_key_stops_start_up_naming_it():
    result = manage("check", FIELD_ENCRYPTION_KEYS="hunter2")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_production_refuses_to_start_without_keys_or_with_the_development_key():
    for value in (None, crypto.DEVELOPMENT_KEY):
        result = manage("check", FIELD_ENCRYPTION_KEYS=value)
        assert result.returncode != 0
        assert "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_two_keys_are_taken():
    assert (
        manage(
            "check",
            FIELD_ENCRYPTION_KEYS=f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
        ).returncode
        == 0
    )


def test_encrypt_round_trips_and_hides_the_text():
    token = crypto.encrypt("王秀英 13812345678")
    assert "138" not in token and crypto.decrypt(token) == "王秀英 13812345678"
    assert crypto.encrypt("") == "" and crypto.decrypt("") == ""


def test_a_token_from_another_key_is_unreadable_not_garbage(settings):
    token = crypto.encrypt("秘密")
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)
    with pytest.raises(crypto.UnreadableError, match="cannot be read with the current keys"):
        crypto.decrypt(token)
    with pytest.raises(crypto.UnreadableError):
        crypto.decrypt("garbage")


def test_rotation_re_encrypts_under_the_new_first_key(settings):
    token = crypto.encrypt("秘密")
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = (new, *settings.FIELD_ENCRYPTION_KEYS)
    rotated = crypto.rotate(token)
    settings.FIELD_ENCRYPTION_KEYS = (new,)
    assert crypto.decrypt(rotated) == "秘密"


def test_blind_index_ignores_spaces_width_and_case_and_is_keyed(settings):
    assert crypto.blind_index("138 1234 5678") == crypto.blind_index("１３８１２３４５６７８")
    assert crypto.blind_index("44010119450101123x") == crypto.blind_index("44010119450101123X")
    assert crypto.blind_index("") == ""
    before = crypto.blind_index("13812345678")
    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)
    assert crypto.blind_index("13812345678") != before
