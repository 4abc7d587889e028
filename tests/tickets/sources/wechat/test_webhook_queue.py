"""The webhook answers once the body is stored; the task worker files it (the queue as
in production: django_tasks_db, run by db_worker), and `manage.py process_wechat` files a
payload whose task was never queued."""

import io

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from tickets.models import Channel, InboundMessage, Message

from .signing import ENCODING_AES_KEY, TOKEN, plain_request, safe_request, text_xml
from .test_webhook import OPEN_ID, call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def wechat_settings(settings):
    settings.WECHAT_TOKEN = TOKEN
    settings.WECHAT_ENCODING_AES_KEY = ENCODING_AES_KEY
    settings.WECHAT_APP_ID = "wx-test-app"


def test_the_answer_waits_for_storing_only_and_the_worker_files(live_server):
    qs, body = safe_request(text_xml(OPEN_ID, "排队 queued", 9301))
    assert call(live_server, qs, body) == (200, "success")
    raw = InboundMessage.objects.get(channel=Channel.WECHAT)
    assert raw.status == InboundMessage.Status.PENDING  # answered before filing
    assert not Message.objects.exists()
    assert DBTaskResult.objects.count() == 1
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    raw.refresh_from_db()
    assert raw.status == InboundMessage.Status.PROCESSED
    assert Message.objects.get(channel=Channel.WECHAT).text == "排队 queued"


def test_process_wechat_files_payloads_whose_task_never_ran(live_server):
    qs, body = plain_request(text_xml(OPEN_ID, "没排上 never queued", 9401))
    assert call(live_server, qs, body) == (200, "success")
    DBTaskResult.objects.all().delete()  # as if the database went away before the task row
    out = io.StringIO()
    call_command("process_wechat", stdout=out)
    assert out.getvalue().strip() == "processed: 1"
    assert InboundMessage.objects.get(channel=Channel.WECHAT).status == "processed"
    assert Message.objects.filter(channel=Channel.WECHAT).count() == 1
