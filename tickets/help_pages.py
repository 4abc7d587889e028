"""The public help centre: /help/ (the articles by category, with a search box) and
/help/<slug>/ (one article). No login; the language is the request's (Accept-Language or
the language switch), and an article shows its half in that language (tickets.knowledge).
"""

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from .knowledge import is_chinese, published, render_body, search_articles
from .models import Article

# A search is a few words; anything longer is cut, never an error.
QUERY_CHARS = 200


@require_GET
def index(request):
    chinese = is_chinese(get_language())
    query = request.GET.get("q", "").strip()[:QUERY_CHARS]
    articles = search_articles(query, chinese=chinese) if query else published()
    entries = [(article, article.title(chinese)) for article in articles]
    categories = [
        (label, [entry for entry in entries if entry[0].category == value])
        for value, label in Article.Category.choices
    ]
    context = {
        "query": query,
        "categories": [(label, rows) for label, rows in categories if rows],
        "found": len(entries),
    }
    return render(request, "help/index.html", context)


@require_GET
def article(request, slug: str):
    chinese = is_chinese(get_language())
    found = published().filter(slug=slug).first()
    if found is None:
        raise Http404
    context = {
        "article": found,
        "title": found.title(chinese),
        "body": render_body(found.body(chinese)),
    }
    return render(request, "help/article.html", context)
