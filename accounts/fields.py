"""A text field encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

The keys come from settings.FIELD_ENCRYPTION_KEYS: the first encrypts, every key decrypts,
so keys can be rotated. In DEBUG without keys, a key is derived from SECRET_KEY.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernets(keys: tuple[str, ...], secret_key: str) -> tuple[Fernet, ...]:
    if not keys:
        derived = hashlib.sha256(b"mywallet-field-encryption:" + secret_key.encode()).digest()
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    try:
        return tuple(Fernet(key) for key in keys)
    except ValueError as exc:
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS holds an invalid key: {exc}") from None


@cache
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    return MultiFernet(list(_fernets(keys, secret_key)))


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)


def first_key() -> Fernet:
    """The key that encrypts: a value it decrypts needs no rotation."""
    return _fernets(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)[0]


class EncryptedTextField(models.TextField):
    """Stores ``fernet(value)``; reads back the plain text. Not searchable or orderable."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return fernet().encrypt(value.encode()).decode("ascii")

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        try:
            return fernet().decrypt(value.encode("ascii")).decode()
        except InvalidToken:
            raise ImproperlyConfigured(
                f"{self.model.__name__}.{self.name} cannot be decrypted with "
                "FIELD_ENCRYPTION_KEYS; was a key removed?"
            ) from None


class EncryptedBinaryField(models.BinaryField):
    """Stores ``fernet(bytes)`` (the token's ASCII bytes); reads back the plain bytes. For raw
    payloads as received (a mail, a webhook body), which hold whatever the customer wrote.
    Not searchable: look a payload up by its digest, kept beside it."""

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is not None and not prepared:
            value = fernet().encrypt(bytes(value))
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        try:
            return fernet().decrypt(bytes(value))
        except InvalidToken:
            raise ImproperlyConfigured(
                f"{self.model.__name__}.{self.name} cannot be decrypted with "
                "FIELD_ENCRYPTION_KEYS; was a key removed?"
            ) from None


# Every encrypted column's field class: what `manage.py rotate_encryption_keys` re-encrypts.
ENCRYPTED_FIELDS = (EncryptedTextField, EncryptedBinaryField)
