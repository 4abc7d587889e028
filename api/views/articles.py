"""/api/articles/: the knowledge base, public (the app shows it before a customer signs
in; anonymous callers are throttled by address). In the language of Accept-Language
(zh-Hans, zh-CN: Chinese; anything else, or none: English), said in ``language`` and
Content-Language. Drafts only for keys with articles:read and agents, on asking."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.response import Response

from tickets.knowledge import is_chinese, published, search_articles
from tickets.models import Article

from ..callers import AGENT, ANONYMOUS, CUSTOMER, KEY, caller
from ..etags import etag_of, not_modified
from ..serializers.articles import CHINESE, ENGLISH, ArticleSerializer
from .base import ApiViewSet

LANGUAGE_HEADER = OpenApiParameter(
    "Accept-Language",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="zh-Hans or zh-CN for Chinese; English otherwise.",
)


@extend_schema_view(
    list=extend_schema(
        summary="Help articles",
        tags=["articles"],
        parameters=[
            OpenApiParameter(
                "category",
                OpenApiTypes.STR,
                enum=Article.Category.values,
                description="Only these.",
            ),
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                description="Every word in the title, body or keywords, in the answer's language.",
            ),
            OpenApiParameter(
                "include_drafts",
                OpenApiTypes.BOOL,
                description="Keys with articles:read and agents: unpublished articles too.",
            ),
            LANGUAGE_HEADER,
        ],
    ),
    retrieve=extend_schema(
        summary="A help article",
        tags=["articles"],
        parameters=[
            OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter(
                "include_drafts",
                OpenApiTypes.BOOL,
                description="Keys with articles:read and agents: an unpublished one too.",
            ),
            OpenApiParameter(
                "If-None-Match",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="The ETag last read: 304 while the article is unchanged.",
            ),
            LANGUAGE_HEADER,
        ],
        responses={200: ArticleSerializer, 304: None},
    ),
)
class ArticleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    callers = (KEY, AGENT, CUSTOMER, ANONYMOUS)
    resource = "articles"
    serializer_class = ArticleSerializer
    lookup_field = "slug"
    filter_backends = []

    def _with_drafts(self) -> bool:
        asked = self.request.query_params.get("include_drafts", "").lower() in ("true", "1")
        who = caller(self.request)
        return asked and who.kind in (KEY, AGENT) and who.allows("articles:read")

    def _chinese(self) -> bool:
        # LocaleMiddleware falls back to the site's language, Chinese, for a header that
        # names none we have (or no header); the API's fallback is English, so Chinese
        # only when the caller asked for it.
        asked = self.request.headers.get("Accept-Language", "").split(",")
        return any(is_chinese(tag.strip()) for tag in asked) and is_chinese(
            getattr(self.request, "LANGUAGE_CODE", "")
        )

    def get_queryset(self):
        articles = Article.objects.all() if self._with_drafts() else published()
        category = self.request.query_params.get("category")
        if category:
            articles = articles.filter(category=category)
        query = self.request.query_params.get("q", "").strip()
        if query:
            articles = search_articles(query, chinese=self._chinese(), among=articles)
        return articles.order_by("category", "position", "slug")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "chinese": self._chinese()}

    def retrieve(self, request, *args, **kwargs):
        data = self.get_serializer(self.get_object()).data
        etag = etag_of(data)
        response = Response(status=304) if not_modified(request, etag) else Response(data)
        response["ETag"] = etag
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code < 400:
            response["Content-Language"] = CHINESE if self._chinese() else ENGLISH
        return response
