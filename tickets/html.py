"""HTML from customers is sanitised once, on the way in, with nh3 (ammonia)."""

import nh3

# nh3's defaults (a safe subset of tags, no scripts, no event handlers, no style) plus
# cid: so inline images in email keep pointing at their attachments.
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}


def sanitise_html(html: str) -> str:
    if not html:
        return ""
    return nh3.clean(html, url_schemes=_URL_SCHEMES, link_rel="noopener noreferrer nofollow")
