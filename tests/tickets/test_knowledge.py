"""The knowledge base: suggestions by the customer's words in Chinese and English, search,
the bodies' little markup (escaped, sanitised), and the public /help/ pages in both
languages."""

from collections import Counter

import pytest
from django.test import Client

from demo.knowledge import seed_knowledge
from tests.accounts.test_customer_texts import asks_for_a_code
from tickets.knowledge import render_body, search_articles, suggest_articles
from tickets.models import Article, Macro

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(db):
    seed_knowledge(Counter())
    return Article.objects.all()


def slugs(suggestions):
    return [suggestion.slug for suggestion in suggestions]


def test_chinese_text_finds_articles_by_substring(articles):
    found = suggest_articles("你好，我刚才支付失败了，余额明明够的", chinese=True)
    assert slugs(found)[0] == "why-did-my-payment-fail"
    assert found[0].title == "为什么我的付款失败了？"
    assert "account-locked" in slugs(suggest_articles("账户被锁定了怎么办", chinese=True))


def test_english_words_find_articles_whole_words_only(articles):
    found = suggest_articles("Hi, my PAYMENT FAILED twice today", chinese=False)
    assert slugs(found)[0] == "why-did-my-payment-fail"
    assert found[0].title == "Why did my payment fail?"
    assert slugs(suggest_articles("I forgot my payment password", chinese=False))[0] == (
        "reset-payment-password"
    )
    assert suggest_articles("unsafely", chinese=False) == []  # "safe" is not a word in it


def test_a_customer_writing_chinese_on_the_english_page_gets_english_titles(articles):
    found = suggest_articles("忘记密码", chinese=False)
    assert found[0].title == "How do I reset my payment password?"


def test_at_most_three_suggestions_and_none_for_unrelated_text(articles):
    text = "payment failed, account locked, forgot password, change phone, is it safe?"
    assert len(suggest_articles(text, chinese=False)) == 3
    assert suggest_articles("what is the weather like", chinese=False) == []
    assert suggest_articles("   ", chinese=True) == []


def test_unpublished_articles_are_never_suggested_or_found(articles):
    Article.objects.filter(slug="account-locked").update(published=False)
    assert "account-locked" not in slugs(suggest_articles("account locked", chinese=False))
    assert not search_articles("locked", chinese=False).filter(slug="account-locked").exists()
    assert Client().get("/help/account-locked/").status_code == 404


def test_search_looks_in_the_language_of_the_page(articles):
    assert set(
        search_articles("payment password", chinese=False).values_list("slug", flat=True)
    ) >= {"reset-payment-password"}
    assert search_articles("风控", chinese=True).get().slug == "why-did-my-payment-fail"
    assert not search_articles("风控", chinese=False).exists()


def test_a_body_becomes_paragraphs_lists_and_safe_links_only():
    html = render_body(
        "First <b>line</b>\n\n- one [reset](/account/reset-payment-password/)\n- two\n\n"
        "[bad](javascript:alert(1)) <script>x</script>"
    )
    assert html.startswith("<p>First &lt;b&gt;line&lt;/b&gt;</p>")
    assert '<ul><li>one <a href="/account/reset-payment-password/"' in html
    assert "<li>two</li></ul>" in html
    assert "<script>" not in html and "javascript:" not in html.split("[bad]")[0]
    assert '<a href="javascript' not in html


@pytest.mark.parametrize(
    ("accept", "title", "heading"),
    [
        ("en-US,en;q=0.9", "How do I reset my payment password?", "Help centre"),
        ("zh-CN,zh;q=0.9", "如何重置支付密码？", "帮助中心"),
    ],
)
def test_the_help_centre_speaks_the_customer_s_language(articles, accept, title, heading):
    client = Client(headers={"accept-language": accept})
    index = client.get("/help/").content.decode()
    assert heading in index and title in index
    page = client.get("/help/reset-payment-password/").content.decode()
    assert title in page and 'href="/account/reset-payment-password/"' in page


def test_the_help_centre_search_lists_matches_and_says_when_none(articles):
    client = Client(headers={"accept-language": "en"})
    found = client.get("/help/", {"q": "locked"}).content.decode()
    assert "My account is locked" in found and "How MY Wallet keeps" not in found
    none = client.get("/help/", {"q": "x" * 5000})
    assert none.status_code == 200 and "No article matches" in none.content.decode()
    assert client.get("/help/no-such-article/").status_code == 404
    assert client.post("/help/").status_code in (403, 405)  # read only


def test_the_help_pages_take_a_fixed_number_of_queries(articles, django_assert_max_num_queries):
    client = Client()
    with django_assert_max_num_queries(2):
        client.get("/help/")
    with django_assert_max_num_queries(2):
        client.get("/help/why-did-my-payment-fail/")


# --- suggested in the chat before the queue ---------------------------------------------------


def test_the_chat_suggests_articles_for_the_question_in_the_page_s_language(articles):
    chinese = Client(headers={"accept-language": "zh-CN"}).get(
        "/chat/suggestions/", {"q": "我的支付失败了"}
    )
    assert chinese.status_code == 200
    assert chinese.json()["articles"][0] == {
        "slug": "why-did-my-payment-fail",
        "title": "为什么我的付款失败了？",
        "url": "/help/why-did-my-payment-fail/",
    }
    english = Client(headers={"accept-language": "en"}).get(
        "/chat/suggestions/", {"q": "my account is locked"}
    )
    assert english.json()["articles"][0]["title"] == "My account is locked"
    nothing = Client().get("/chat/suggestions/", {"q": "hello"})
    assert nothing.json() == {"articles": []}
    assert Client().get("/chat/suggestions/").json() == {"articles": []}


@pytest.mark.parametrize("accept", ["en", "zh-CN"])
def test_no_article_or_macro_asks_a_customer_to_pass_a_code_on(articles, accept):
    client = Client(headers={"accept-language": accept})
    for article in articles:
        page = client.get(f"/help/{article.slug}/").content.decode()
        assert not asks_for_a_code(page), article.slug
    for macro in Macro.objects.all():
        assert not asks_for_a_code(macro.body_en) and not asks_for_a_code(macro.body_zh)
