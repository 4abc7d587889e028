"""An email's images on the ticket page (issue 12, item 6).

Remote images are blocked until the agent loads them for one message: the page's HTML
names no remote URL in any ``src`` and its Content-Security-Policy forbids the origin;
after the choice, that response's policy allows exactly that message's image origins.
Inline (``cid:``) images are served from our own origin.
"""

import re

import pytest
from django.urls import reverse

from tickets import actions
from tickets.html import render_html
from tickets.inbound import Inbound, InboundAttachment

PIXEL = "https://tracker.example.net/open.gif?u=li.wei"
BANNER = "http://cdn.example.org:8080/banner.png"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def change_url(ticket):
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def mail(customer, html, *, attachments=()):
    identity = customer.identities.get(kind="email")
    return actions.receive(
        Inbound(
            channel="email",
            sender_kind="email",
            sender=identity.value,
            text="Payment failed",
            html=html,
            attachments=attachments,
        )
    )


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


def sources(html: str) -> list[str]:
    return re.findall(r'\ssrc="([^"]*)"', html)


# --- rendering ------------------------------------------------------------------------------


def test_remote_images_become_a_placeholder_from_our_origin_with_their_origins_listed():
    rendered = render_html(f'<p>Hi</p><img src="{PIXEL}" width="1"><img src="{BANNER}">')
    assert rendered.blocked
    assert rendered.remote_origins == ("http://cdn.example.org:8080", "https://tracker.example.net")
    assert all(src.startswith("/static/") for src in sources(rendered.html))
    assert "tracker.example.net" not in rendered.html
    assert "cdn.example.org" not in rendered.html


def test_loaded_remote_images_keep_their_sources():
    rendered = render_html(f'<img src="{PIXEL}">', remote_images=True)
    assert not rendered.blocked
    assert sources(rendered.html) == [PIXEL.replace("&", "&amp;")]


@pytest.mark.parametrize(
    "src",
    [
        "/admin/tickets/ticket/",  # our own server, asked by a customer's mail
        "//tracker.example.net/p.gif",  # protocol-relative
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "cid:not-attached",
    ],
)
def test_other_image_sources_are_dropped(src):
    rendered = render_html(f'<img src="{src}" alt="x">', remote_images=True)
    assert sources(rendered.html) == []
    assert rendered.remote_origins == ()


def test_an_origin_that_could_change_a_policy_is_never_loaded():
    rendered = render_html('<img src="https://a.example\'%20*/x.png">', remote_images=True)
    assert "a.example" not in rendered.html
    assert rendered.remote_origins == ()


# --- the ticket page ------------------------------------------------------------------------


def test_the_page_shows_no_remote_image_and_its_policy_forbids_it(agent_client, customer):
    ticket = mail(customer, f'<p>My payment failed</p><img src="{PIXEL}" width="1">').ticket
    response = agent_client.get(change_url(ticket))
    assert response.status_code == 200
    page = response.text
    assert not [src for src in sources(page) if "://" in src or src.startswith("//")]
    assert "tracker.example.net/open.gif" not in page
    assert "Remote images blocked" in page
    assert "Load images for this message" in page
    csp = policy(response)
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["script-src"] == ["'self'"]
    assert csp["default-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]


def test_the_notice_speaks_chinese(agent_client, customer):
    ticket = mail(customer, f'<img src="{PIXEL}">').ticket
    page = agent_client.get(change_url(ticket), HTTP_ACCEPT_LANGUAGE="zh-hans").text
    assert "已阻止远程图片" in page
    assert "为此消息加载图片" in page


def test_loading_one_messages_images_allows_exactly_its_origins(agent_client, customer):
    first = mail(customer, f'<img src="{PIXEL}">')
    ticket = first.ticket
    second = actions.receive(
        Inbound(
            channel="email",
            sender_kind="email",
            sender=customer.identities.get(kind="email").value,
            text="again",
            html=f'<img src="{BANNER}">',
            continue_open=True,
        )
    )
    assert second.ticket == ticket
    response = agent_client.get(change_url(ticket), {"images": first.message.pk})
    csp = policy(response)
    assert csp["img-src"] == ["'self'", "data:", "https://tracker.example.net"]
    assert csp["script-src"] == ["'self'"]
    page = response.text
    assert PIXEL.replace("&", "&amp;") in sources(page)
    assert "cdn.example.org" not in " ".join(sources(page))  # the other message stays blocked
    assert "Remote images loaded from https://tracker.example.net" in page


def test_a_choice_naming_no_message_of_the_ticket_widens_nothing(agent_client, customer):
    ticket = mail(customer, f'<img src="{PIXEL}">').ticket
    other = mail(customer, "<p>other</p>")
    for value in ("abc", "-1", "99999999", str(other.message.pk)):
        response = agent_client.get(change_url(ticket), {"images": value})
        assert policy(response)["img-src"] == ["'self'", "data:"]
        assert "tracker.example.net/open.gif" not in response.text


def test_inline_images_are_served_from_our_origin(agent_client, customer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    logo = InboundAttachment(
        name="logo.png", content_type="image/png", content=PNG, content_id="logo@mail"
    )
    ticket = mail(customer, '<p>See</p><img src="cid:logo@mail">', attachments=(logo,)).ticket
    attachment = ticket.messages.get().attachments.get()
    page = agent_client.get(change_url(ticket)).text
    url = reverse("admin:tickets_ticket_inline_image", args=[attachment.pk])
    assert url in sources(page)
    assert "Remote images blocked" not in page
    response = agent_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert policy(response) == {"default-src": ["'none'"], "sandbox": []}
    assert b"".join(response.streaming_content) == PNG


def test_an_inline_file_that_is_not_a_raster_image_is_not_served_inline(
    agent_client, customer, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    svg = InboundAttachment(
        name="x.svg",
        content_type="image/svg+xml",
        content=b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        content_id="x@mail",
    )
    ticket = mail(customer, '<img src="cid:x@mail">', attachments=(svg,)).ticket
    attachment = ticket.messages.get().attachments.get()
    url = reverse("admin:tickets_ticket_inline_image", args=[attachment.pk])
    assert agent_client.get(url).status_code == 404


def test_inline_images_need_the_ticket_permission(client, customer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    logo = InboundAttachment("logo.png", "image/png", PNG, content_id="logo@mail")
    ticket = mail(customer, '<img src="cid:logo@mail">', attachments=(logo,)).ticket
    attachment = ticket.messages.get().attachments.get()
    response = client.get(reverse("admin:tickets_ticket_inline_image", args=[attachment.pk]))
    assert response.status_code == 302  # to the sign-in page
    assert "/admin/login/" in response["Location"]


def test_every_page_has_the_policy(client, db):
    response = client.get("/chat/")
    csp = policy(response)
    assert csp["script-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
