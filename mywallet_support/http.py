"""Request checks shared by the small customer-facing forms."""


def declared_too_large(request, limit: int) -> bool:
    """Whether a request with a body declares more than ``limit`` bytes, or declares no
    usable length: answered before the body is read into memory."""
    if request.method in ("GET", "HEAD"):
        return False
    declared = request.headers.get("Content-Length", "")
    return not declared.isdigit() or int(declared) > limit
