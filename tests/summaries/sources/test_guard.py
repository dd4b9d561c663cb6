"""User-supplied URLs never reach private addresses: literal, resolved, redirected, rebound."""

from __future__ import annotations

import ipaddress

import httpcore
import httpx
import pytest

from summaries.sources.guard import (
    BlockedAddressError,
    GuardedTransport,
    UnsafeUrlError,
    UrlPolicy,
    check_url,
    describe_fetch_error,
    is_public_address,
)
from tests.summaries.sources.conftest import Answer, LoopbackServer

PUBLIC = "93.184.216.34"  # stands for a public web server; the fake network routes it home


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared address space (CGNAT)
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::1",  # 6to4 around 127.0.0.1
        "2002:a00:1::1",  # 6to4 around 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 around 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 around 169.254.169.254
    ],
)
def test_private_and_reserved_addresses_are_refused(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", PUBLIC, "2001:4860:4860::8888"])
def test_public_addresses_are_allowed(address):
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http"),
        ("ftp://example.org/feed", "only http"),
        ("gopher://example.org/", "only http"),
        ("javascript:alert(1)", "only http"),
        ("http:///feed", "no host"),
        ("http://user:secret@example.org/", "user name"),
        ("http://127.0.0.1/", "private"),
        ("http://2130706433/", "private"),  # decimal
        ("http://0177.0.0.1/", "private"),  # octal
        ("http://0x7f.1/", "private"),  # hex, short form
        ("http://127.1/", "private"),
        ("http://[::1]/", "private"),
        ("http://[::ffff:127.0.0.1]/", "private"),
        ("http://[::ffff:7f00:1]/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "private"),
        ("http://example.org:99999/", "valid"),
    ],
)
def test_urls_refused_before_any_connection_say_why(url, reason):
    with pytest.raises(UnsafeUrlError, match=reason):
        check_url(url)


def test_ordinary_urls_pass_the_form_check():
    assert check_url("  https://example.org/news?page=2 ") == "https://example.org/news?page=2"


class FakeNetwork(httpcore.AsyncNetworkBackend):
    """Routes the 'public' test address to the loopback server and records every connect."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connected: list[str] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connected.append(host)
        target = "127.0.0.1" if host == PUBLIC else host
        return await self.inner.connect_tcp(target, port, timeout)

    async def sleep(self, seconds):
        await self.inner.sleep(seconds)


class LyingResolver:
    """Answers from a script, one answer list per call; remembers what it was asked."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def client_with(resolver=None, network=None, policy=None) -> httpx.AsyncClient:
    options = {"resolver": resolver} if resolver else {}
    transport = GuardedTransport(policy or UrlPolicy(), inner=network, **options)
    return httpx.AsyncClient(transport=transport, follow_redirects=True)


def port_of(server: LoopbackServer) -> int:
    return httpx.URL(server.url("/")).port or 80


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "0177.0.0.1", "127.1"])
async def test_loopback_in_any_spelling_is_refused_at_connection(server, host):
    server.routes["/feed"] = lambda _: Answer(200, b"secret")
    async with client_with() as client:
        # httpx itself refuses some spellings as invalid; either way nothing is fetched.
        with pytest.raises((BlockedAddressError, httpx.InvalidURL)):
            await client.get(f"http://{host}:{port_of(server)}/feed")
    assert server.requests == []


async def test_a_resolver_answering_a_private_address_is_refused(server):
    resolver = LyingResolver(["127.0.0.1"])
    async with client_with(resolver) as client:
        with pytest.raises(BlockedAddressError):
            await client.get(f"http://news.test:{port_of(server)}/feed")
    assert server.requests == []


async def test_one_private_answer_among_public_ones_is_enough_to_refuse(server):
    resolver = LyingResolver([PUBLIC, "10.0.0.5"])
    async with client_with(resolver, FakeNetwork()) as client:
        with pytest.raises(BlockedAddressError):
            await client.get(f"http://news.test:{port_of(server)}/feed")


async def test_the_checked_address_is_the_one_connected_to(server):
    server.routes["/feed"] = lambda _: Answer(200, b"<rss/>")
    # Public for the check, private afterwards: a rebinding attack gets no second lookup.
    resolver = LyingResolver([PUBLIC], ["127.0.0.1"])
    network = FakeNetwork()
    async with client_with(resolver, network) as client:
        response = await client.get(f"http://news.test:{port_of(server)}/feed")
    assert response.text == "<rss/>"
    assert resolver.asked == ["news.test"]
    assert network.connected == [PUBLIC]
    assert server.requests[0].headers["host"].startswith("news.test")


async def test_every_redirect_hop_is_checked_again(server):
    port = port_of(server)
    server.routes["/feed"] = lambda _: Answer(
        302, b"", {"Location": f"http://127.0.0.1:{port}/admin"}
    )
    server.routes["/admin"] = lambda _: Answer(200, b"secret")
    async with client_with(LyingResolver([PUBLIC]), FakeNetwork()) as client:
        with pytest.raises(BlockedAddressError) as refused:
            await client.get(f"http://news.test:{port}/feed")
    assert [request.path for request in server.requests] == ["/feed"]
    assert "127.0.0.1" in describe_fetch_error(refused.value)


async def test_hosts_the_operator_allows_may_be_private(server):
    server.routes["/feed"] = lambda _: Answer(200, b"intranet news")
    policy = UrlPolicy.allowing(["Intranet.Test"])
    async with client_with(LyingResolver(["127.0.0.1"]), policy=policy) as client:
        response = await client.get(f"http://intranet.test:{port_of(server)}/feed")
    assert response.text == "intranet news"


async def test_an_unresolvable_host_is_a_connection_error_not_a_crash():
    async def nothing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    async with client_with(nothing) as client:
        with pytest.raises(httpx.ConnectError, match="cannot resolve"):
            await client.get("http://nowhere.test/feed")


async def test_a_host_name_too_long_to_encode_is_a_connection_error():
    async with client_with() as client:
        with pytest.raises(httpx.ConnectError, match="cannot resolve"):
            await client.get("http://" + "a" * 70 + ".com/feed")
