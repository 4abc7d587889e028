"""The knowledge base's reads: the help articles a customer sees at /help/, found by a
search or suggested in the chat before they wait for an agent, and their bodies as HTML.

An article is one row in both languages (tickets.models.Article); ``chinese`` picks the
half a page shows. Suggestions match the customer's own words against the keywords of
both languages (a customer may write Chinese on the English page): a Chinese keyword
counts when it is a substring of the text, an English one when it appears as whole words.
There are a few dozen articles at most, so they are matched in Python in one query.
"""

import re
from dataclasses import dataclass
from html import escape

from django.db.models import Q, QuerySet
from django.utils.safestring import SafeString, mark_safe

from .html import sanitise_html
from .models import Article

SUGGESTED = 3
# A customer's text is matched on its first characters only: a question, not an essay.
SUGGEST_TEXT_CHARS = 1000

_LINK = re.compile(r"\[([^\]\n]+)\]\((/[^)\s]*|https://[^)\s]+)\)")
_LIST_ITEM = re.compile(r"^\s*[-•]\s+")
_LATIN = re.compile(r"[a-z0-9]")


@dataclass(frozen=True)
class Suggestion:
    slug: str
    title: str


def is_chinese(language: str) -> bool:
    return (language or "").lower().startswith("zh")


def published() -> QuerySet[Article]:
    return Article.objects.filter(published=True)


def search_articles(
    query: str, *, chinese: bool, among: QuerySet[Article] | None = None
) -> QuerySet[Article]:
    """Published articles (or those of ``among``: the API's drafts too) whose title, body or
    keywords in that language hold every word of ``query`` (any order, case-insensitive)."""
    suffix = "zh" if chinese else "en"
    articles = published() if among is None else among
    for word in query.split()[:10]:
        articles = articles.filter(
            Q(**{f"title_{suffix}__icontains": word})
            | Q(**{f"body_{suffix}__icontains": word})
            | Q(**{f"keywords_{suffix}__icontains": word})
        )
    return articles


def suggest_articles(text: str, *, chinese: bool, limit: int = SUGGESTED) -> list[Suggestion]:
    """Up to ``limit`` published articles whose keywords the text names, the most keywords
    first; none for a text that names none."""
    text = (text or "")[:SUGGEST_TEXT_CHARS].lower()
    if not text.strip():
        return []
    scored = []
    for article in published():
        score = sum(_mentions(text, keyword) for keyword in article.keywords())
        if score:
            scored.append((-score, article.category, article.position, article))
    scored.sort(key=lambda row: row[:3])
    return [
        Suggestion(slug=article.slug, title=article.title(chinese))
        for *_rank, article in scored[:limit]
    ]


def _mentions(text: str, keyword: str) -> bool:
    if not _LATIN.search(keyword):  # Chinese: no spaces between words
        return keyword in text
    return re.search(rf"(?<![a-z0-9]){re.escape(keyword)}(?:s|es)?(?![a-z0-9])", text) is not None


def render_body(body: str) -> SafeString:
    """An article's body as HTML: paragraphs, lists and links, nothing else (escaped first,
    then through the project's sanitiser)."""
    blocks = [block for block in re.split(r"\n\s*\n", body.strip()) if block.strip()]
    return mark_safe(sanitise_html("\n".join(_block(block) for block in blocks)))  # noqa: S308


def _block(block: str) -> str:
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    if all(_LIST_ITEM.match(line) for line in lines):
        items = "".join(f"<li>{_inline(_LIST_ITEM.sub('', line))}</li>" for line in lines)
        return f"<ul>{items}</ul>"
    return f"<p>{'<br>'.join(_inline(line) for line in lines)}</p>"


def _inline(text: str) -> str:
    return _LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', escape(text))
