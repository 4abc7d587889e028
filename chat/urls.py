from django.urls import path

from . import api, pages

app_name = "chat"

urlpatterns = [
    path("", pages.chat_page, name="page"),
    path("suggestions/", api.suggestions, name="suggestions"),
    path("start/", api.start, name="start"),
    path("upload/", api.upload, name="upload"),
    path("leave-message/", api.leave_message, name="leave_message"),
    path("attachment/<int:pk>/", api.attachment, name="attachment"),
]
