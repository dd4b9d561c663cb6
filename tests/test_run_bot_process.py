"""`python run_bot.py` as a real process: start-up errors, signals, log hygiene, the preview.

Each test runs `sys.executable run_bot.py ...` in a subprocess. The ones that run the bot start
the loopback Bot API fake in a background thread of the test process and point the bot at it
with TELEGRAM_BASE_URL; the bot's database is a SQLite file in tmp_path.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import updates as build
from tests.support.fake_bot_api import FakeBotApi, SentMessage

ROOT = Path(__file__).resolve().parents[1]
RUN_BOT = ROOT / "run_bot.py"
# The shape of a real token: the bot id, a colon, 35 characters of secret.
TOKEN_SECRET = "AAH" + "4fQx9_kLmZ-2bT7vWcYp0sRjNd8eUhG3"
TOKEN = "123456789:" + TOKEN_SECRET
STARTUP_TIMEOUT = 60.0  # seconds; generous, the machine may be loaded
STOP_TIMEOUT = 30.0
PREVIEW_KEYS = {"id", "source", "title", "url", "published", "topics", "keywords", "bullets"}
# Variables of the developer's shell that would change what the bot process does.
BOT_ENVIRONMENT = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_BASE_URL",
    "DATABASE_URL",
    "DIGEST_BOT_ADMINS",
    "TELEGRAM_WEBHOOK_SECRET",
)

CONFIG = """\
sources:
  - name: local-news
    location: news
    kind: text
topics:
  - name: quantum
    title: Quantum communication
    description: Quantum networks
    keywords: [quantum]
bot:
  database: bot.sqlite3
  telegram:
    base_url: null  # as in the bundled config; TELEGRAM_BASE_URL from the environment wins
"""
ARTICLE = """\
Quantum network links nine cities of the corridor

The quantum metropolitan area network now links nine cities across the delta.
Engineers finished the last fibre section in March.
"""


def clean_environment(**extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in BOT_ENVIRONMENT}
    environment["PYTHONUNBUFFERED"] = "1"
    return {**environment, **extra}


def run_bot(*args: str, env: dict[str, str], timeout: float = 60.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(RUN_BOT), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def write_bot_config(folder: Path) -> Path:
    (folder / "news").mkdir()
    (folder / "news" / "quantum.txt").write_text(ARTICLE, encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], object], what: str, timeout: float) -> None:
    """Polls from outside the fake's lock (the fake's own wait_for would hold it)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.02)


@dataclass
class BotProcess:
    """The bot in a subprocess; its output goes to files (DEBUG output would fill a pipe)."""

    process: subprocess.Popen
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text(encoding="utf-8") + self.stderr.read_text(encoding="utf-8")

    def stop(self, signal_number: int) -> int:
        self.process.send_signal(signal_number)
        return self.process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi(TOKEN) as server:
        yield server


@pytest.fixture
def start_bot(tmp_path: Path, fake: FakeBotApi) -> Iterator[Callable[..., BotProcess]]:
    """Starts `run_bot.py --config <tmp config>` against the fake; kills it if a test fails."""
    config = write_bot_config(tmp_path)
    started: list[BotProcess] = []

    def start(*extra_args: str, **extra_env: str) -> BotProcess:
        stdout, stderr = tmp_path / "stdout.log", tmp_path / "stderr.log"
        env = clean_environment(
            **{"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": fake.base_url, **extra_env}
        )
        with stdout.open("w") as out, stderr.open("w") as err:
            process = subprocess.Popen(
                [sys.executable, str(RUN_BOT), "--config", str(config), *extra_args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=err,
            )
        bot = BotProcess(process, stdout, stderr)
        started.append(bot)
        return bot

    yield start
    for bot in started:
        if bot.process.poll() is None:
            bot.process.kill()
            bot.process.wait(timeout=STOP_TIMEOUT)


def command_answer(
    fake: FakeBotApi, bot: BotProcess, user: dict, name: str, timeout: float
) -> SentMessage:
    """`user` sends /name; returns the bot's next message in that chat."""
    before = len(fake.sent(user["id"]))
    fake.private_command(user, name)

    def answered() -> bool:
        if bot.process.poll() is not None:
            raise AssertionError(f"the bot exited ({bot.process.returncode}):\n{bot.output()}")
        return len(fake.sent(user["id"])) > before

    wait_until(answered, f"answer to /{name}", timeout)
    return fake.sent(user["id"])[before]


# -- start-up errors ---------------------------------------------------------------------------


def test_without_a_token_it_says_how_to_get_one_in_one_line():
    finished = run_bot(env=clean_environment())

    assert finished.returncode == 2
    lines = [line for line in finished.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, finished.stderr
    assert "TELEGRAM_BOT_TOKEN" in lines[0]
    assert "python run_bot.py preview" in lines[0]
    assert "Traceback" not in finished.stderr
    assert finished.stdout == ""


@pytest.mark.parametrize(
    ("yaml_text", "key", "line"),
    [
        ("sources: []\ntopics: []\nsumariser:\n  bullets: 3\n", "sumariser", 3),
        (
            "sources: []\ntopics: []\nbot:\n  delivery:\n    messages_per_secnd: 30\n",
            "bot.delivery.messages_per_secnd",
            5,
        ),
    ],
    ids=["top-level", "nested"],
)
def test_a_bad_config_key_is_named_with_file_and_line(tmp_path, yaml_text, key, line):
    config = tmp_path / "broken.yaml"
    config.write_text(yaml_text, encoding="utf-8")

    finished = run_bot("--config", str(config), env=clean_environment(TELEGRAM_BOT_TOKEN=TOKEN))

    assert finished.returncode != 0
    assert "broken.yaml" in finished.stderr
    assert key in finished.stderr
    assert f"line {line}" in finished.stderr
    assert "Traceback" not in finished.stderr


@pytest.mark.parametrize("before_command", [True, False], ids=["before", "after"])
def test_fetch_reads_the_config_given_before_or_after_the_command(tmp_path, before_command):
    config = tmp_path / "broken.yaml"
    config.write_text("sources: []\ntopics: []\nbogus: 1\n", encoding="utf-8")
    args = ["--config", str(config)]

    finished = run_bot(
        *(args + ["fetch"] if before_command else ["fetch", *args]),
        env=clean_environment(DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}"),
    )

    assert finished.returncode == 2
    assert "broken.yaml, line 3: bogus: unknown key" in finished.stderr


# -- the running bot -----------------------------------------------------------------------------


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_the_bot_answers_then_stops_cleanly_on_a_signal(fake, start_bot, signal_number):
    bot = start_bot()
    user = build.user(5001, "Dana")

    answer = command_answer(fake, bot, user, "help", timeout=STARTUP_TIMEOUT)

    assert "/subscribe" in answer.text
    assert bot.stop(signal_number) == 0, bot.output()
    assert "Traceback" not in bot.output()


def test_a_signal_stops_the_bot_while_a_source_holds_the_ingestion_worker(
    fake, start_bot, tmp_path
):
    # A file that never ends (a FIFO nobody writes): reading it holds the worker forever, as a
    # feed that takes the parser minutes would. The worker must not hold up the exit.
    (tmp_path / "endless").mkdir()
    os.mkfifo(tmp_path / "endless" / "feed.xml")
    config = tmp_path / "config.yaml"
    endless_source = "  - {name: endless, location: endless}\ntopics:"
    config.write_text(config.read_text().replace("topics:", endless_source, 1))
    bot = start_bot()
    command_answer(fake, bot, build.user(5001, "Dana"), "help", timeout=STARTUP_TIMEOUT)
    wait_until(lambda: worker_processes(bot.process.pid), "ingestion worker", STARTUP_TIMEOUT)

    assert bot.stop(signal.SIGTERM) == 0, bot.output()
    assert "Traceback" not in bot.output()


def worker_processes(pid: int) -> list[str]:
    """The command lines of `pid`'s multiprocessing workers (spawned, so visible in ps)."""
    listing = subprocess.run(
        ["ps", "-ww", "-o", "args=", "--ppid", str(pid)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [line for line in listing.splitlines() if "spawn_main" in line]


def test_behind_a_webhook_the_bot_answers_pushed_updates_then_stops(fake, start_bot):
    port = free_port()
    url = f"http://127.0.0.1:{port}/digest-hook"
    bot = start_bot(
        "--webhook", url, "--listen", f"127.0.0.1:{port}", TELEGRAM_WEBHOOK_SECRET="s3cret-hook"
    )
    user = build.user(5003, "Finn")

    answer = command_answer(fake, bot, user, "help", timeout=STARTUP_TIMEOUT)

    assert "/subscribe" in answer.text
    assert fake.webhook is not None
    assert (fake.webhook["url"], fake.webhook["secret_token"]) == (url, "s3cret-hook")
    assert fake.stats.webhook_deliveries == 1
    assert fake.stats.requests["getUpdates"] == 0
    assert bot.stop(signal.SIGTERM) == 0, bot.output()


def test_the_token_never_reaches_the_output_even_through_faults(fake, start_bot):
    # Faults before start: the menu is refused, the first poll fails with 500.
    fake.refuse("setMyCommands", 400, "Bad Request: commands are not supported here")
    fake.fail_next(1, status=500, methods=("getUpdates",))
    bot = start_bot("-v")
    # A user per step: the bot paces replies to one chat at 1/s, and this test need not wait.
    first, dropped, failed, last = (build.user(5010 + n, f"User{n}") for n in range(4))
    command_answer(fake, bot, first, "help", timeout=STARTUP_TIMEOUT)

    # A reply whose connection drops (and its one retry), then its apology (and its retry).
    fake.drop_connections(1.0)
    fake.private_command(dropped, "help")
    wait_until(lambda: fake.stats.dropped_before_recording >= 4, "dropped replies", 30.0)
    fake.drop_connections(0.0)
    # A reply answered 500 twice (it is retried once): the error handler apologises.
    fake.fail_next(2, status=500, methods=("sendMessage",))
    apology = command_answer(fake, bot, failed, "help", timeout=30.0)
    answer = command_answer(fake, bot, last, "list", timeout=30.0)

    assert "went wrong" in apology.text
    assert "went wrong" not in answer.text
    assert bot.stop(signal.SIGTERM) == 0
    output = bot.output()
    assert "DEBUG" in output  # -v did log at DEBUG: the check below is not vacuous
    assert "could not publish the command menu" in output
    assert TOKEN not in output
    assert TOKEN_SECRET not in output


# -- the offline preview ----------------------------------------------------------------------


def test_preview_json_prints_the_bundled_sample():
    finished = run_bot("preview", "--json", env=clean_environment())

    assert finished.returncode == 0, finished.stderr
    records = json.loads(finished.stdout)
    assert isinstance(records, list)
    assert len(records) == 11  # six English sample articles, five Chinese
    for record in records:
        assert record.keys() >= PREVIEW_KEYS
        assert record["bullets"]


def test_a_rejected_token_is_reported_without_the_token(tmp_path, fake):
    config = write_bot_config(tmp_path)
    wrong = "987654321:" + "ZZZ" + TOKEN_SECRET[3:]
    env = clean_environment(
        TELEGRAM_BOT_TOKEN=wrong,
        TELEGRAM_BASE_URL=fake.base_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
    )
    result = run_bot("--config", str(config), env=env)
    assert result.returncode == 2
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in result.stderr
    assert wrong not in result.stdout + result.stderr
    assert wrong.split(":")[1] not in result.stdout + result.stderr


def test_an_unreachable_bot_api_is_one_clear_error(tmp_path):
    config = write_bot_config(tmp_path)
    env = clean_environment(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=f"http://127.0.0.1:{free_port()}/bot",
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
    )
    result = run_bot("--config", str(config), env=env)
    assert result.returncode == 1
    assert "error: cannot reach the Telegram Bot API at http://127.0.0.1:" in result.stderr
    assert TOKEN_SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line or "error:" in line]
    assert len(errors) == 1, result.stderr


def test_the_start_up_log_names_the_bot_config_database_and_sources(fake, start_bot, tmp_path):
    bot = start_bot(TELEGRAM_BASE_URL=fake.url)  # without the /bot suffix: added
    command_answer(fake, bot, build.user(5001, "Dana"), "help", timeout=STARTUP_TIMEOUT)
    output = bot.output()
    assert "@DigestTestBot" in output
    assert str(tmp_path / "config.yaml") in output
    assert "bot.sqlite3" in output
    assert "local-news" in output
    assert bot.stop(signal.SIGTERM) == 0


def test_a_corrupt_database_is_one_clear_error(tmp_path, fake):
    config = write_bot_config(tmp_path)
    database = tmp_path / "broken.sqlite3"
    database.write_bytes(b"this is not a database\n" * 200)
    env = clean_environment(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=fake.base_url,
        DATABASE_URL=f"sqlite:///{database}",
    )
    result = run_bot("--config", str(config), env=env)
    assert result.returncode == 1
    assert f"error: SQLite database {database} is corrupt" in result.stderr
    assert database.read_bytes() == b"this is not a database\n" * 200
