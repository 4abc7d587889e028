import pytest

from .weibo_api import TOKEN, running_weibo_api

SECRET = "test-weibo-app-secret"


@pytest.fixture(autouse=True)
def _weibo_settings(settings):
    settings.WEIBO_APP_SECRET = SECRET
    settings.WEIBO_SEND = "api"
    settings.WEIBO_ACCESS_TOKEN = TOKEN
    settings.WEIBO_TIMESTAMP_TOLERANCE_SECONDS = 300


@pytest.fixture
def weibo_api(settings):
    with running_weibo_api() as api:
        settings.WEIBO_API_BASE = api.base
        yield api
