"""API keys in the admin: made and revoked by administrators (``api.add_apikey``: superusers;
supervisors do not get it), never edited. A key's text is shown once, on the page that
answers its making, and is never stored, logged or put in a message; a key whose scopes
should change is revoked and made anew, so every key's scopes are those it was made with."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .actions import MANAGE_KEYS, create_key, revoke_key
from .keys import KEY_PREFIX
from .models import ApiKey, Scope

# A key's state, as the inbox's status chips show it.
STATE_CHIPS = {"active": "active", "expired": "closed", "revoked": "failed"}


class NewKeyForm(forms.Form):
    name = forms.CharField(
        label=_("key name"),
        max_length=100,
        help_text=_("The integration, e.g. CRM or MY Wallet app."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple
    )
    expires_at = forms.SplitDateTimeField(
        label=_("expires"),
        required=False,
        widget=widgets.AdminSplitDateTime,
        help_text=_("Optional: the key stops working then."),
    )

    def clean_expires_at(self):
        when = self.cleaned_data["expires_at"]
        if when is not None and when <= timezone.now():
            raise ValidationError(_("The expiry must be in the future."))
        return when


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Why revoke it"), max_length=255, help_text=_("Kept on the key, e.g. leaked.")
    )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "key_prefix",
        "scope_list",
        "created_by",
        "created_at",
        "last_used_at",
        "last_used_ip",
        "expires_at",
        "state_chip",
        "revoke_link",
    ]
    list_select_related = ["created_by"]
    search_fields = ["name", "=prefix"]
    fields = [
        "name",
        "key_prefix",
        "scope_list",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_ip",
        "state_chip",
        "revoked_by",
        "revoked_at",
        "revoked_reason",
    ]
    readonly_fields = fields
    actions = None

    # Only administrators see keys; nobody edits or deletes one (revoke it instead).
    def has_module_permission(self, request):
        return request.user.has_perm(MANAGE_KEYS)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE_KEYS)

    def has_add_permission(self, request):
        return request.user.has_perm(MANAGE_KEYS)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("key"), ordering="prefix")
    def key_prefix(self, obj):
        return format_html("<code>{}{}_…</code>", KEY_PREFIX, obj.prefix)

    @admin.display(description=_("scopes"))
    def scope_list(self, obj):
        labels = dict(Scope.choices)
        return ", ".join(str(labels.get(scope, scope)) for scope in obj.scopes)

    @admin.display(description=_("status"))
    def state_chip(self, obj):
        if obj.revoked_at is not None:
            state, label = "revoked", gettext("Revoked")
        elif not obj.active:
            state, label = "expired", gettext("Expired")
        else:
            state, label = "active", gettext("Active")
        return format_html(
            '<span class="mw-status mw-status-{}">{}</span>', STATE_CHIPS[state], label
        )

    @admin.display(description="")
    def revoke_link(self, obj):
        if obj.revoked_at is not None:
            return ""
        url = reverse("admin:api_apikey_revoke", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, gettext("Revoke"))

    def get_urls(self):
        revoke = self.admin_site.admin_view(self.revoke_view)
        return [path("<int:pk>/revoke/", revoke, name="api_apikey_revoke"), *super().get_urls()]

    def _page(self, request, template, title, **context):
        """A page of ours in the admin's frame (admin_view already makes it no-store)."""
        return TemplateResponse(
            request,
            f"admin/api/apikey/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                **context,
            },
        )

    def add_view(self, request, form_url="", extra_context=None):
        """The form; once valid, the key is made and its text shown on this one answer."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = NewKeyForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                key, text = create_key(
                    acting_user=request.user,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_at=form.cleaned_data["expires_at"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.log_addition(request, key, [{"added": {}}])
                return self._page(request, "created.html", gettext("Key made"), key=key, text=text)
        return self._page(request, "add.html", gettext("Make an API key"), form=form)

    def revoke_view(self, request, pk):
        if not self.has_add_permission(request):
            raise PermissionDenied
        key = get_object_or_404(ApiKey, pk=pk)
        form = RevokeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            revoke_key(key, acting_user=request.user, reason=form.cleaned_data["reason"])
            self.log_change(request, key, gettext("Revoked the key."))
            self.message_user(
                request,
                gettext("The key %(name)s is revoked.") % {"name": key.name},
                messages.SUCCESS,
            )
            return redirect("admin:api_apikey_changelist")
        return self._page(
            request,
            "revoke.html",
            gettext("Revoke the key %(name)s") % {"name": key.name},
            key=key,
            form=form,
        )
