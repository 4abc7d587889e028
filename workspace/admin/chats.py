"""The chat's records in the admin: conversations and presence to look at (the console's
canned replies are the tickets side's macros: workspace/admin/knowledge.py)."""

from django.contrib import admin

from chat.models import AgentPresence, Conversation

from ..site import ViewOnlyMixin


@admin.register(Conversation)
class ConversationAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["ticket", "state", "queue", "agent", "started_at", "ended_at"]
    list_filter = ["state", "queue"]
    list_select_related = ["ticket", "queue", "agent"]
    search_fields = ["ticket__reference"]
    date_hierarchy = "started_at"
    exclude = ["session_key"]


@admin.register(AgentPresence)
class AgentPresenceAdmin(admin.ModelAdmin):
    list_display = ["user", "status", "max_chats", "sockets", "updated_at"]
    list_filter = ["status"]
    fields = ["user", "status", "max_chats", "sockets", "updated_at"]
    readonly_fields = ["user", "status", "sockets", "updated_at"]

    def has_add_permission(self, request):
        return False
