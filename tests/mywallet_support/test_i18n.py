import pytest
from django.utils import translation

pytestmark = pytest.mark.django_db


def test_the_login_page_speaks_chinese_by_default(client, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "zh-hans"
    assert "验证码" in response.text  # "Authentication code"
    assert "Authentication code" not in response.text


def test_the_login_page_follows_accept_language(client):
    response = client.get("/admin/login/", headers={"accept-language": "en"})
    assert response.headers["Content-Language"] == "en"
    assert "Authentication code" in response.text


def test_model_names_are_translated():
    from tickets.models import Ticket

    with translation.override("zh-hans"):
        assert str(Ticket._meta.verbose_name) == "工单"
        assert str(Ticket.Status.SOLVED.label) != "Solved"
