"""WeChat's published message security, both directions (server side).

Plaintext mode: ``signature = sha1(sorted([token, timestamp, nonce]) joined)`` (hex). It
does not cover the body, so the webhook remembers each (timestamp, nonce) it accepted.
Safe mode: the body's ``<Encrypt>`` is ``base64(AES-256-CBC(key, iv=key[:16],
PKCS#7 to 32 bytes of: 16 random bytes + 4-byte big-endian length + message + appid))``
with ``key = base64(EncodingAESKey + "=")``, and ``msg_signature = sha1(sorted([token,
timestamp, nonce, encrypt]) joined)`` covers it.

`encrypt` is here for tools and tests; the webhook only verifies and decrypts.
"""

import base64
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16


class CryptoError(ValueError):
    """The envelope cannot be opened: wrong key, bad padding, another app's message."""


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat's


def signature_matches(expected: str, given: str) -> bool:
    """Constant-time comparison of hex signatures."""
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode("ascii", "replace"))


def aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except ValueError as exc:
        raise CryptoError("WECHAT_ENCODING_AES_KEY is not valid base64.") from exc
    if len(key) != 32:
        raise CryptoError("WECHAT_ENCODING_AES_KEY must decode to 32 bytes (43 characters).")
    return key


def encrypt(message: bytes, *, encoding_aes_key: str, app_id: str, random: bytes = b"") -> str:
    key = aes_key(encoding_aes_key)
    plain = (random or os.urandom(16)) + struct.pack(">I", len(message)) + message
    plain += app_id.encode()
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def decrypt(encrypted: str, *, encoding_aes_key: str, app_id: str) -> bytes:
    """The message inside ``encrypted``; CryptoError when it is not a valid envelope for
    ``app_id``."""
    key = aes_key(encoding_aes_key)
    try:
        data = base64.b64decode(encrypted, validate=True)
    except ValueError as exc:
        raise CryptoError("Encrypt is not base64.") from exc
    if not data or len(data) % 16:
        raise CryptoError("Encrypt is not whole AES blocks.")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise CryptoError("Bad padding.")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise CryptoError("Too short.")
    (length,) = struct.unpack(">I", plain[16:20])
    message, sender_app = plain[20 : 20 + length], plain[20 + length :]
    if len(message) != length:
        raise CryptoError("Declared length past the end.")
    if not hmac.compare_digest(sender_app, app_id.encode()):
        raise CryptoError("The message is for another app.")
    return message
