"""API keys as strings: ``mws_<prefix>_<secret>``.

The prefix (12 characters) is stored in clear, so a key can be found and named in logs and
the admin; the secret (32 random bytes, url-safe) is kept as its SHA-256 only. A key from a
log line, a ticket or a screenshot is therefore recognisable (``mws_``) to secret scanners,
and its prefix alone opens nothing.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "mws_"
PREFIX_LENGTH = 12
# A key is about 60 characters; a much longer Authorization value is not one of ours.
MAX_KEY_LENGTH = 128


@dataclass(frozen=True)
class NewKey:
    prefix: str
    secret: str

    @property
    def text(self) -> str:
        """What the integration is given, once."""
        return f"{KEY_PREFIX}{self.prefix}_{self.secret}"


def new_key() -> NewKey:
    return NewKey(prefix=secrets.token_hex(PREFIX_LENGTH // 2), secret=secrets.token_urlsafe(32))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(text: str) -> tuple[str, str] | None:
    """(prefix, secret) of a key's text, or None when it is not shaped like one."""
    if not text.startswith(KEY_PREFIX) or len(text) > MAX_KEY_LENGTH:
        return None
    prefix, underscore, secret = text[len(KEY_PREFIX) :].partition("_")
    if not underscore or len(prefix) != PREFIX_LENGTH or not secret:
        return None
    return prefix, secret


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret).encode(), stored_hash.encode())
