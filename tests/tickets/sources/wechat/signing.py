"""WeChat's side of the message security, written here from the published algorithm
(not imported from the code under test), to sign and encrypt what the tests send."""

import base64
import hashlib
import os
import struct
import time
import urllib.parse

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TOKEN = "test-wechat-token"
ENCODING_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters
APP_ID = "wx-test-app"


def sha1_sorted(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324


def wechat_encrypt(xml: bytes, *, key_text: str = ENCODING_AES_KEY, app_id: str = APP_ID) -> str:
    key = base64.b64decode(key_text + "=")
    plain = os.urandom(16) + struct.pack(">I", len(xml)) + xml + app_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def text_xml(open_id: str, content: str, msg_id: int, *, created: int | None = None) -> bytes:
    created = created or int(time.time())
    return (
        f"<xml><ToUserName><![CDATA[gh_mywallet]]></ToUserName>"
        f"<FromUserName><![CDATA[{open_id}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def query(*, timestamp: int | None = None, nonce: str | None = None, token: str = TOKEN) -> dict:
    timestamp = str(timestamp or int(time.time()))
    nonce = nonce or os.urandom(6).hex()
    return {
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": sha1_sorted(token, timestamp, nonce),
    }


def plain_request(xml: bytes, **kwargs) -> tuple[str, bytes]:
    """The query string and body WeChat sends in plaintext mode."""
    return urllib.parse.urlencode(query(**kwargs)), xml


def safe_request(xml: bytes, *, token: str = TOKEN, **kwargs) -> tuple[str, bytes]:
    """The query string and body WeChat sends in safe mode."""
    params = query(token=token, **kwargs)
    encrypted = wechat_encrypt(xml)
    params["encrypt_type"] = "aes"
    params["msg_signature"] = sha1_sorted(token, params["timestamp"], params["nonce"], encrypted)
    body = (
        "<xml><ToUserName><![CDATA[gh_mywallet]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    return urllib.parse.urlencode(params), body.encode()
