"""Authentication-Results (RFC 8601): what the receiving servers found of a mail's sender.

A From header is a claim anyone can write, and so is an Authentication-Results header:
only the ones added by a server we run or trust (its authserv-id listed in
settings.EMAIL_TRUSTED_AUTHSERV_IDS) count. Such a server must delete incoming headers that
claim its authserv-id (RFC 8601 section 5; OpenDKIM, OpenDMARC and rspamd do): ours are
added above anything the sender wrote, so for each method only the topmost trusted
header's results are read, and a forged "pass" below a real "fail" changes nothing.

The sender is authenticated when, for the From domain, DMARC passed, or SPF and DKIM both
passed for domains aligned with it (`_aligned`). Pure functions, no settings: `parse` runs in the
parser (and its worker processes), `authenticated` in intake with the trusted ids.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_HEADERS = 50  # more than any real path adds; the rest are not read
MAX_HEADER_LENGTH = 8 * 1024


@dataclass(frozen=True)
class AuthResult:
    """One method's result in one header (``position``: 0 for the topmost header)."""

    position: int
    authserv_id: str
    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()

    def property(self, name: str) -> str:
        return next((value for key, value in self.properties if key == name), "")


@dataclass(frozen=True)
class Verdict:
    authenticated: bool
    how: str  # "dmarc", "spf+dkim", or "" when not authenticated
    authserv_id: str = ""


NOT_AUTHENTICATED = Verdict(authenticated=False, how="")


# --- parsing ----------------------------------------------------------------------------------


def parse(values: Sequence[str]) -> tuple[AuthResult, ...]:
    """Every method result of the given header values (top first); garbage yields nothing."""
    results: list[AuthResult] = []
    for position, value in enumerate(values[:MAX_HEADERS]):
        results.extend(_parse_one(position, value[:MAX_HEADER_LENGTH]))
    return tuple(results)


def _parse_one(position: int, value: str) -> list[AuthResult]:
    segments = _split(_without_comments(value))
    if not segments:
        return []
    head, *resinfos = segments
    words = head.split()
    if not words or "=" in head:
        # No authserv-id (Microsoft 365 writes none): nobody vouches for these results.
        authserv_id, resinfos = "", segments
    else:
        authserv_id = _unquote(words[0]).lower()
    found = []
    for resinfo in resinfos:
        pairs = _PAIR.findall(resinfo)
        if not pairs:
            continue  # "none", or unreadable
        (method, result), *rest = pairs
        method = re.sub(r"\s+", "", method).split("/")[0].lower()
        properties = tuple(
            (re.sub(r"\s+", "", key).lower(), _unquote(raw)) for key, raw in rest if key
        )
        found.append(
            AuthResult(
                position=position,
                authserv_id=authserv_id,
                method=method,
                result=_unquote(result).lower(),
                properties=properties,
            )
        )
    return found


_PAIR = re.compile(
    r'([A-Za-z0-9_-]+(?:\s*[./]\s*[A-Za-z0-9_-]+)*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s";=]+)'
)


def _without_comments(value: str) -> str:
    """``value`` without its (possibly nested) comments, quoted strings kept as they are."""
    out: list[str] = []
    depth, quoted, escaped = 0, False, False
    for char in value.replace("\r", " ").replace("\n", " "):
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\" and (quoted or depth):
            escaped = True
            if depth == 0:
                out.append(char)
            continue
        if quoted:
            quoted = char != '"'
            out.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0:
            quoted = char == '"'
            out.append(char)
    return "".join(out)


def _split(value: str) -> list[str]:
    """``value`` split at each semicolon outside quoted strings, blank parts dropped."""
    parts, current, quoted, escaped = [], [], False, False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def _unquote(value: str) -> str:
    if len(value) > 1 and value.startswith('"') and value.endswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


# --- the verdict ------------------------------------------------------------------------------


def authenticated(
    results: Iterable[AuthResult], *, from_address: str, trusted: Iterable[str]
) -> Verdict:
    """Whether trusted servers authenticated ``from_address``'s domain (module docstring)."""
    trusted_ids = {server.strip().lower() for server in trusted if server.strip()}
    domain = from_address.rpartition("@")[2].strip().lower().rstrip(".")
    if not trusted_ids or not domain:
        return NOT_AUTHENTICATED
    topmost = _topmost_by_method([r for r in results if r.authserv_id in trusted_ids])
    dmarc = [
        r
        for r in topmost.get("dmarc", ())
        if r.result == "pass" and _domain(r.property("header.from")) == domain
    ]
    if dmarc:
        return Verdict(authenticated=True, how="dmarc", authserv_id=dmarc[0].authserv_id)
    spf = [
        r
        for r in topmost.get("spf", ())
        if r.result == "pass" and _aligned(_domain(r.property("smtp.mailfrom")), domain)
    ]
    dkim = [
        r
        for r in topmost.get("dkim", ())
        if r.result == "pass"
        and _aligned(_domain(r.property("header.d") or r.property("header.i")), domain)
    ]
    if spf and dkim:
        return Verdict(authenticated=True, how="spf+dkim", authserv_id=dkim[0].authserv_id)
    return NOT_AUTHENTICATED


def _topmost_by_method(results: list[AuthResult]) -> dict[str, list[AuthResult]]:
    """For each method, the results of the topmost header that reports it."""
    by_method: dict[str, list[AuthResult]] = {}
    for result in sorted(results, key=lambda r: r.position):
        current = by_method.setdefault(result.method, [])
        if not current or current[0].position == result.position:
            current.append(result)
    return by_method


def _domain(value: str) -> str:
    """The domain of a property value: "user@Example.com", "@example.com" or "example.com"."""
    return value.rpartition("@")[2].strip().lower().rstrip(".")


def _aligned(found: str, domain: str) -> bool:
    """Aligned with the From domain: the same domain, or one it lies under (mail from
    support.example.com signed by example.com). Not the other way round: without the public
    suffix list, a subdomain may belong to someone else (anyone.github.io)."""
    if not found or not domain:
        return False
    return found == domain or ("." in found and domain.endswith("." + found))
