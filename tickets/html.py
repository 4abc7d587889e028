"""HTML from customers is sanitised once, on the way in, with nh3 (ammonia), and again when
an agent's page shows it (`render_html`), where its images are decided.

An email's remote images are the sender's eyes in the agent's browser: a tracking pixel
tells them the mail was read, when, and from which address. So the page shows none until
the agent asks for them, message by message; `render_html` then lists the origins they come
from, for the page's Content-Security-Policy to allow exactly those.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import nh3
from django.templatetags.static import static

# nh3's defaults (a safe subset of tags, no scripts, no event handlers, no style) plus
# cid: so inline images in email keep pointing at their attachments.
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
_LINK_REL = "noopener noreferrer nofollow"

# A host a policy may name: letters, digits, dots and hyphens, or a bracketed IPv6 address,
# with an optional port. Anything else (a quote, a semicolon, a space) could change the
# policy it is written into, so such an image is never loaded.
_SAFE_ORIGIN = re.compile(r"^https?://(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$")

BLOCKED_IMAGE = "tickets/remote-image-blocked.svg"


def sanitise_html(html: str) -> str:
    if not html:
        return ""
    return nh3.clean(html, url_schemes=_URL_SCHEMES, link_rel=_LINK_REL)


@dataclass(frozen=True)
class RenderedHtml:
    """Sanitised HTML ready for an agent's page.

    ``remote_origins`` are the origins of the message's remote images, sorted: loaded when
    the render allowed them (the response's policy must then allow these and no more),
    else blocked (each shown as a placeholder from our origin, its URL in no ``src``).
    """

    html: str
    remote_origins: tuple[str, ...] = ()
    remote_images: bool = False

    @property
    def blocked(self) -> bool:
        return bool(self.remote_origins) and not self.remote_images


def image_origin(url: str) -> str | None:
    """The origin a CSP ``img-src`` may name for ``url``, or None when it has none we would
    write into a header."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    return origin if _SAFE_ORIGIN.match(origin) else None


def render_html(
    html: str,
    *,
    inline_url: Callable[[str], str | None] = lambda content_id: None,
    remote_images: bool = False,
) -> RenderedHtml:
    """``html`` sanitised for an agent's page, with every image's source decided.

    - ``cid:`` images point at ``inline_url(content_id)``, the attachment served from our
      own origin, or lose their source when it has none;
    - remote (http, https) images become a placeholder from our origin unless
      ``remote_images``; one whose origin cannot be named in a policy always does;
    - any other source (relative, protocol-relative) is dropped: a customer's mail must
      not make the agent's browser ask our own server for anything.
    """
    if not html:
        return RenderedHtml("")
    origins: set[str] = set()

    def image_source(tag: str, attribute: str, value: str) -> str | None:
        if tag != "img" or attribute != "src":
            return value
        scheme = value.split(":", 1)[0].lower() if ":" in value else ""
        if scheme == "cid":
            return inline_url(unquote(value[4:]).strip().strip("<>").strip())
        if scheme in ("http", "https") and not value.startswith(("http:///", "https:///")):
            origin = image_origin(value)
            if origin is not None:
                origins.add(origin)
                if remote_images:
                    return value
            return static(BLOCKED_IMAGE)
        return None

    cleaned = nh3.clean(
        html, url_schemes=_URL_SCHEMES, link_rel=_LINK_REL, attribute_filter=image_source
    )
    return RenderedHtml(cleaned, tuple(sorted(origins)), remote_images)
