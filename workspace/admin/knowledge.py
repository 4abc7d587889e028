"""The knowledge base and macros in the admin: help articles (published at /help/, suggested
in the chat) and macros (canned replies for the ticket page and the chat console).

Agents read both; supervisors and administrators write them (accounts.roles). A macro's
placeholders are checked when it is saved (tickets.models.Macro.clean), so one the
customer would see as typed never gets in.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from tickets.models import Article, Macro


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title_en", "title_zh", "category", "position", "published", "updated_at"]
    list_filter = ["category", "published"]
    search_fields = ["title_en", "title_zh", "keywords_en", "keywords_zh", "body_en", "body_zh"]
    prepopulated_fields = {"slug": ["title_en"]}
    fieldsets = [
        (None, {"fields": ["slug", "category", "position", "published"]}),
        (_("English"), {"fields": ["title_en", "body_en", "keywords_en"]}),
        (_("Chinese"), {"fields": ["title_zh", "body_zh", "keywords_zh"]}),
    ]

    def view_on_site(self, obj):
        return reverse("help_article", args=[obj.slug])


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ["title", "queue", "status", "active", "position"]
    list_filter = ["active", "queue", "status"]
    search_fields = ["title", "body_en", "body_zh"]
    fields = ["title", "body_en", "body_zh", "queue", "status", "active", "position"]
