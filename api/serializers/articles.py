"""Help articles in the request's language: one row holds both, the serializer shows the
half the ``chinese`` context asks for."""

from rest_framework import serializers

from tickets.knowledge import render_body
from tickets.models import Article

CHINESE, ENGLISH = "zh-hans", "en"


class ArticleSerializer(serializers.ModelSerializer):
    language = serializers.SerializerMethodField()
    title = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField()
    body_html = serializers.SerializerMethodField()
    keywords = serializers.SerializerMethodField()

    class Meta:
        model = Article
        fields = [
            "slug",
            "category",
            "language",
            "title",
            "body",
            "body_html",
            "keywords",
            "published",
            "updated_at",
        ]
        read_only_fields = fields

    @property
    def _chinese(self) -> bool:
        return bool(self.context.get("chinese"))

    def get_language(self, article) -> str:
        return CHINESE if self._chinese else ENGLISH

    def get_title(self, article) -> str:
        return article.title(self._chinese)

    def get_body(self, article) -> str:
        """As written: paragraphs, "- " lists and [text](/path) links."""
        return article.body(self._chinese)

    def get_body_html(self, article) -> str:
        """The body as sanitised HTML, as /help/ shows it."""
        return str(render_body(article.body(self._chinese)))

    def get_keywords(self, article) -> list[str]:
        words = article.keywords_zh if self._chinese else article.keywords_en
        return [word.strip() for word in words.replace("，", ",").split(",") if word.strip()]
