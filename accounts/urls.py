from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path(
        "reset-payment-password/",
        views.reset_payment_password,
        name="reset_payment_password",
    ),
    path("change-contact/", views.change_contact, name="change_contact"),
]
