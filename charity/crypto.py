"""Encryption at rest for sensitive fields (PIPL arts. 28, 51): cryptography's MultiFernet.

Keys come from the FIELD_ENCRYPTION_KEYS environment variable: comma-separated Fernet keys, the first one
encrypts, every one decrypts. To rotate, put a new key first and keep the old ones until every token has
been re-encrypted (`rotate`). The blind index is an HMAC keyed from the first key's bytes through a separate
derivation, so duplicates of a beneficiary can be found without decrypting anything.

This module reads Django settings only when it encrypts; `parse_keys` is what settings.py calls at start-up,
so a malformed key stops the app with a message naming the variable instead of writing garbage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import unicodedata
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured

VARIABLE = "FIELD_ENCRYPTION_KEYS"

# Published in this repository, like the development SECRET_KEY: only DEBUG and tests use it, and
# production refuses it (settings.py).
DEVELOPMENT_KEY = "ZGV2LW9ubHktZmllbGQta2V5LW5vdC1mb3ItcHJvZCE="


class UnreadableError(Exception):
    """A token that none of the current keys decrypts (a lost key, a damaged row)."""


def parse_keys(raw: str, *, variable: str = VARIABLE) -> tuple[str, ...]:
    """Return the keys of `raw` (comma-separated), or raise ImproperlyConfigured naming `variable`."""
    keys = tuple(k.strip() for k in (raw or "").split(",") if k.strip())
    if not keys:
        raise ImproperlyConfigured(f"Set {variable} to one or more comma-separated Fernet keys")
    for position, key in enumerate(keys, start=1):
        try:
            decoded = base64.urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            decoded = b""
        if len(decoded) != 32:
            raise ImproperlyConfigured(
                f"{variable}: key {position} is not a Fernet key (32 bytes, url-safe base64, 44 characters); "
                'make one with: python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"'
            )
    if len(set(keys)) != len(keys):
        raise ImproperlyConfigured(f"{variable}: the same key is listed twice")
    return keys


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode("ascii")) for k in keys])


def _keys() -> tuple[str, ...]:
    from django.conf import settings

    return tuple(settings.FIELD_ENCRYPTION_KEYS)


def encrypt(text: str) -> str:
    """Return the Fernet token of `text` under the first key ("" stays "": nothing to hide)."""
    if text is None or text == "":
        return ""
    return _fernet(_keys()).encrypt(str(text).encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """Return the text of `token`; raise UnreadableError when no current key decrypts it."""
    if not token:
        return ""
    try:
        return _fernet(_keys()).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, ValueError):
        raise UnreadableError("cannot be read with the current keys") from None


def rotate(token: str) -> str:
    """Re-encrypt `token` under the first key (for a key rotation); raises UnreadableError like decrypt."""
    if not token:
        return ""
    try:
        return _fernet(_keys()).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError, ValueError):
        raise UnreadableError("cannot be read with the current keys") from None


def _index_key() -> bytes:
    # A key of its own for the index, derived from the encrypting key: the Fernet key never signs hashes.
    return hashlib.sha256(b"charity.crypto.blind_index:" + _keys()[0].encode("ascii")).digest()


def normalize_for_index(text: str) -> str:
    """Full-width and half-width, case, spaces and punctuation do not make two values different."""
    text = unicodedata.normalize("NFKC", str(text or "")).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def blind_index(text: str) -> str:
    """A keyed hash of `text` (normalised), to find the same beneficiary without decrypting; "" for none.

    Rotating the first key changes every index: recompute them with the rotation (`rotate`).
    """
    normalized = normalize_for_index(text)
    if not normalized:
        return ""
    return hmac.new(_index_key(), normalized.encode("utf-8"), hashlib.sha256).hexdigest()
