from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from demo import views as demo_views
from tickets import account_pages, feedback_pages, help_pages
from tickets.sources.phone import pages as phone_pages
from tickets.sources.wechat.webhook import wechat as wechat_webhook
from tickets.sources.weibo.views import weibo_webhook

from . import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("chat/", include("chat.urls")),
    path("api/", include("api.urls")),
    path("callback/", phone_pages.request_callback, name="callback_request"),
    path("webhooks/weibo/", weibo_webhook, name="weibo-webhook"),
    path("webhooks/wechat/", wechat_webhook, name="webhook-wechat"),
    path("account/", include("accounts.urls")),
    # The signed-in customer's home and tickets: ticket reads, so the tickets side serves them.
    path("account/", account_pages.home, name="account_home"),
    path("account/tickets/<str:reference>/", account_pages.ticket, name="account_ticket"),
    # A confirmation link's answer may link a chat's ticket to its customer: tickets side too.
    path("account/confirm/<slug:token>/", account_pages.confirm, name="account_confirm"),
    # The public help centre (the knowledge base's articles): no login.
    path("help/", help_pages.index, name="help"),
    path("help/<slug:slug>/", help_pages.article, name="help_article"),
    # The satisfaction survey's link (email tickets' "solved" notice): tickets side.
    path("feedback/<str:token>/", feedback_pages.feedback, name="feedback"),
    # 404 unless DEBUG or DEMO_APP_PAGE.
    path("demo/app/", demo_views.play_the_app, name="demo_app"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
