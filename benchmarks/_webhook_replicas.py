"""``delivery_replicas.py webhook``: 3 real bot processes in webhook mode behind a proxy.

The fake Bot API pushes every update to one URL, a small round-robin HTTP proxy running in this
process's event loop, which forwards each POST (the secret header included) to the next of the
replicas, each ``run_bot.py --webhook <proxy URL> --listen 127.0.0.1:<port>`` on one
PostgreSQL schema and one Redis prefix. The simulated users and the figures are those of
``responsiveness.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import responsiveness as rs
import yaml
from _delivery_common import frozen_fake, pauses_line
from delivery_replicas import postgres_schema

from tests.support.fake_bot_api import FakeBotApi
from tests.support.fake_bot_api import RateLimits as FakeLimits

REPLICAS = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RoundRobinProxy:
    """Forwards each HTTP request to the next backend in turn; counts what each one got."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))
        self.forwarded = Counter[int]()
        self.failed = 0
        self._client = httpx.AsyncClient(timeout=10.0)
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self._client.aclose()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(
            ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError
        ):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status, reply = await self._forward(method, path, headers, body)
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Length: {len(reply)}\r\n"
                    "Content-Type: application/json\r\n\r\n".encode()
                    + reply
                )
                await writer.drain()
        writer.close()

    async def _forward(self, method, path, headers, body) -> tuple[int, bytes]:
        index = next(self._next)
        keep = {k: v for k, v in headers.items() if k not in ("host", "content-length")}
        try:
            answer = await self._client.request(
                method,
                f"http://127.0.0.1:{self.backends[index]}{path}",
                headers=keep,
                content=body,
            )
        except httpx.HTTPError:
            self.failed += 1
            return 502, b""
        if answer.status_code < 300:
            self.forwarded[index] += 1
        return answer.status_code, answer.content


def write_config(folder: Path, prefix: str) -> Path:
    config = rs.write_config(folder, None)
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    document["bot"]["redis"] = {"prefix": prefix}
    config.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return config


def start_replica(config, url, fake, redis_url, hook_url, port, log: Path):
    environment = rs.bot_environment(url, fake)
    environment["REDIS_URL"] = redis_url
    with log.open("w") as output:
        return subprocess.Popen(
            [
                sys.executable,
                str(rs.RUN_BOT),
                "--config",
                str(config),
                "--webhook",
                hook_url,
                "--listen",
                f"127.0.0.1:{port}",
            ],
            cwd=rs.ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def wait_for_ports(ports: list[int], processes, logs, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    for port, process, log in zip(ports, processes, logs, strict=True):
        while True:
            if process.poll() is not None:
                raise SystemExit(f"a replica exited ({process.returncode}):\n{log.read_text()}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"replica on port {port} did not listen; see {log}")
            await asyncio.sleep(0.2)


async def run_webhook_benchmark(args) -> None:
    with tempfile.TemporaryDirectory(prefix="webhook-replicas-") as tmp:
        folder = Path(tmp)
        with postgres_schema(args.postgres_url) as url:
            await _run(args, folder, url)


async def _run(args, folder: Path, url: str) -> None:
    prefix = f"bench-{secrets.token_hex(4)}"
    config = write_config(folder, prefix)
    started = time.perf_counter()
    rs.fetch_articles(config, url)  # migrates the schema and stores the sample articles
    chats = rs.seed_chats(url, args.chats, "quantum")
    print(f"seeded {len(chats)} due chats in {time.perf_counter() - started:.1f} s")
    fake, pauses = frozen_fake(FakeLimits(scale=1.0))
    ports = [free_port() for _ in range(REPLICAS)]
    proxy = RoundRobinProxy(ports)
    await proxy.start()
    hook_url = f"http://127.0.0.1:{proxy.port}/telegram"
    logs = [folder / f"replica-{n}.log" for n in range(REPLICAS)]
    processes = [
        start_replica(config, url, fake, args.redis_url, hook_url, port, log)
        for port, log in zip(ports, logs, strict=True)
    ]
    try:
        await wait_for_ports(ports, processes, logs)
        startup = await rs.wait_until_answering(fake, processes[0], logs[0])
        print(
            f"{REPLICAS} replicas listen behind the proxy (/help in {startup * 1000:.0f} ms);"
            f" {args.users} users start"
        )
        watched = _AnyAlive(processes)
        progress = rs.Progress(chats, watched, url)  # type: ignore[arg-type]
        options = _UserOptions(args.users, args.seed)
        samples, complete = await rs.measure(fake, progress, options)
        rs.report(fake, chats, samples, args.users, complete)
        _answers_per_command(fake, samples, args.users)
        share = ", ".join(f"{proxy.forwarded[n]}" for n in range(REPLICAS))
        print(
            f"updates forwarded per replica: {share}; proxy failures {proxy.failed};"
            f" webhook deliveries {fake.stats.webhook_deliveries},"
            f" failed {fake.stats.webhook_failures}"
        )
        print(pauses_line(pauses))
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        await proxy.stop()
        fake.stop_in_thread()


class _AnyAlive:
    """What ``responsiveness.Progress`` asks of "the bot": every replica must stay up."""

    def __init__(self, processes) -> None:
        self.processes = processes
        self.returncode: int | None = None

    def poll(self) -> int | None:
        for process in self.processes:
            if process.poll() is not None:
                self.returncode = process.returncode
                return self.returncode
        return None


class _UserOptions:
    def __init__(self, users: int, seed: int) -> None:
        self.users = users
        self.seed = seed
        self.interval = 2.0
        self.reply_timeout = 30.0


def _answers_per_command(fake: FakeBotApi, samples, users: int) -> None:
    """Each command must be answered exactly once, whichever replica got it."""
    ids = range(rs.FIRST_USER_ID, rs.FIRST_USER_ID + users)
    replies = sum(len(fake.sent(user_id)) for user_id in ids)
    answered = sum(1 for s in samples if s.latency is not None)
    print(
        f"commands sent {len(samples)}, answered {answered}; replies in the users' chats"
        f" {replies} (answers per command {replies / max(1, len(samples)):.3f})"
    )
