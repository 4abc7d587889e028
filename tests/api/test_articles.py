"""/api/articles/: public, in the language the caller asks for, drafts only for keys with
articles:read and agents, ETags on the detail."""

import pytest
from django.test import Client

from tests.api.conftest import customer_client
from tests.conftest import verified_client
from tickets.models import Article

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(db):
    Article.objects.all().delete()
    return [
        Article.objects.create(
            slug="failed-payment",
            category="payments",
            title_en="Why did my payment fail?",
            title_zh="为什么我的付款失败了？",
            body_en="Check your network.\n\n- Try again",
            body_zh="请检查您的网络。",
            keywords_en="payment, failed",
            keywords_zh="付款，失败",
            published=True,
        ),
        Article.objects.create(
            slug="locked-wallet",
            category="security",
            title_en="My wallet is locked",
            title_zh="我的钱包被锁定了",
            body_en="Too many wrong passwords lock it.",
            body_zh="多次输错密码会锁定钱包。",
            published=True,
        ),
        Article.objects.create(
            slug="new-limits",
            category="payments",
            title_en="New limits (draft)",
            title_zh="新限额（草稿）",
            body_en="Soon.",
            body_zh="即将推出。",
            published=False,
        ),
    ]


def _slugs(answer) -> list[str]:
    assert answer.status_code == 200, answer.content
    return [article["slug"] for article in answer.json()["results"]]


def test_anyone_reads_the_published_articles_in_english_by_default(articles):
    answer = Client().get("/api/articles/")
    assert _slugs(answer) == ["failed-payment", "locked-wallet"]
    first = answer.json()["results"][0]
    assert first["title"] == "Why did my payment fail?"
    assert first["language"] == "en"
    assert "<li>Try again</li>" in first["body_html"]
    assert answer["Content-Language"] == "en"


@pytest.mark.parametrize("header", ["zh-CN", "zh-Hans", "zh-Hans-CN,zh;q=0.9,en;q=0.5"])
def test_a_chinese_accept_language_gives_the_chinese_articles(articles, header):
    answer = Client(headers={"Accept-Language": header}).get("/api/articles/failed-payment/")
    assert answer.status_code == 200
    assert answer.json()["title"] == "为什么我的付款失败了？"
    assert answer.json()["keywords"] == ["付款", "失败"]
    assert answer.json()["language"] == "zh-hans"
    assert answer["Content-Language"] == "zh-hans"


@pytest.mark.parametrize("header", ["en-GB", "fr-FR", "de"])
def test_any_other_language_gives_english(articles, header):
    answer = Client(headers={"Accept-Language": header}).get("/api/articles/failed-payment/")
    assert answer.json()["language"] == "en"


def test_the_search_and_the_category_filter_in_the_callers_language(articles):
    client = Client(headers={"Accept-Language": "zh-CN"})
    assert _slugs(client.get("/api/articles/", {"q": "密码"})) == ["locked-wallet"]
    assert _slugs(client.get("/api/articles/", {"q": "password"})) == []
    assert _slugs(Client().get("/api/articles/", {"q": "wrong PASSWORDS"})) == ["locked-wallet"]
    assert _slugs(Client().get("/api/articles/", {"category": "security"})) == ["locked-wallet"]


def test_drafts_are_hidden_from_anonymous_callers_and_customers(articles, customer):
    for client in (Client(), customer_client(customer.wallets.get())):
        assert "new-limits" not in _slugs(client.get("/api/articles/?include_drafts=true"))
        assert client.get("/api/articles/new-limits/?include_drafts=true").status_code == 404


def test_keys_with_articles_read_and_agents_see_drafts_on_asking(articles, client_with, agent):
    for client in (client_with("articles:read"), verified_client(agent)):
        assert "new-limits" not in _slugs(client.get("/api/articles/"))
        assert "new-limits" in _slugs(client.get("/api/articles/?include_drafts=true"))
        answer = client.get("/api/articles/new-limits/?include_drafts=true")
        assert answer.json()["published"] is False


def test_a_key_without_the_articles_scope_is_refused(articles, client_with):
    answer = client_with("tickets:read").get("/api/articles/")
    assert answer.status_code == 403


def test_the_detail_answers_304_while_unchanged(articles):
    client = Client()
    first = client.get("/api/articles/failed-payment/")
    etag = first["ETag"]
    again = client.get("/api/articles/failed-payment/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again["ETag"] == etag
    Article.objects.filter(slug="failed-payment").update(body_en="Check your signal.")
    changed = client.get("/api/articles/failed-payment/", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_each_language_has_its_own_etag(articles):
    english = Client().get("/api/articles/failed-payment/")["ETag"]
    chinese = Client(headers={"Accept-Language": "zh-CN"}).get("/api/articles/failed-payment/")
    assert chinese["ETag"] != english
    assert "Accept-Language" in chinese["Vary"]


def test_an_unknown_article_is_a_json_404(articles):
    answer = Client().get("/api/articles/no-such-thing/")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
