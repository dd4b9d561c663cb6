"""Why a source cannot be followed, as readers are told: plain words, the URL left out."""

from __future__ import annotations

import pytest

from bot.i18n import Catalogs
from bot.reasons import INTERNAL_ERROR, NOT_A_READABLE_FEED, TOOK_TOO_LONG, plain_reason
from summaries.sources import reasons

URL = "https://x.org/feed"
CATALOGS = Catalogs.load()


@pytest.mark.parametrize(
    ("technical", "english", "chinese"),
    [
        (reasons.TIMED_OUT.format(url=URL), "timed out", "超时"),
        (TOOK_TOO_LONG.format(url=URL), "timed out", "超时"),
        (
            reasons.CANNOT_FETCH.format(url=URL, detail="ConnectError: All connection attempts"),
            "the server did not answer",
            "服务器没有响应",
        ),
        (
            reasons.HTTP_STATUS.format(status=404, reason="Not Found", url=URL),
            "page not found (HTTP 404)",
            "找不到该页面（HTTP 404）",
        ),
        (
            reasons.HTTP_STATUS.format(status=410, reason="Gone", url=URL),
            "page not found (HTTP 410)",
            "找不到该页面（HTTP 410）",
        ),
        (
            reasons.HTTP_STATUS.format(status=403, reason="Forbidden", url=URL),
            "the server refused (HTTP 403)",
            "服务器拒绝了请求（HTTP 403）",
        ),
        (
            reasons.HTTP_STATUS.format(status=503, reason="Service Unavailable", url=URL),
            "the server had a problem (HTTP 503)",
            "服务器出错（HTTP 503）",
        ),
        (
            reasons.HTTP_STATUS.format(status=418, reason="I'm a teapot", url=URL),
            "the server answered HTTP 418",
            "服务器返回 HTTP 418",
        ),
        (
            reasons.TOO_LARGE.format(url=URL, limit=5_000_000),
            "the page is too large",
            "页面太大",
        ),
        (
            NOT_A_READABLE_FEED.format(url=URL, error="not an RSS or Atom feed (x)"),
            "this does not look like a readable feed",
            "这看起来不是可读取的订阅源",
        ),
        (
            reasons.PRIVATE_ADDRESS.format(host="10.0.0.1"),
            "10.0.0.1 is a private or reserved address",
            "10.0.0.1 是私有或保留地址",
        ),
        (INTERNAL_ERROR, INTERNAL_ERROR, "无法读取（内部错误）"),
    ],
)
def test_reasons_are_plain_and_never_repeat_the_url(technical, english, chinese):
    assert plain_reason(CATALOGS.get("en"), technical) == english
    assert plain_reason(CATALOGS.get("zh"), technical) == chinese
    assert URL not in plain_reason(CATALOGS.get("en"), technical)


def test_a_reason_from_elsewhere_stays_as_it_came():
    assert plain_reason(CATALOGS.get("zh"), "ValueError: odd") == "ValueError: odd"
