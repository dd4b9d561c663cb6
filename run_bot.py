"""Entry point: run the bot, preview digests offline, or fetch the sources once.

python run_bot.py                 run the bot (long polling; needs TELEGRAM_BOT_TOKEN)
python run_bot.py --webhook URL   run it behind a webhook instead
python run_bot.py preview         print digests of the configured sources, offline
python run_bot.py fetch           fetch every source once into the database
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from summaries.cli import add_preview_arguments, run_preview
from summaries.config import DEFAULT_CONFIG_PATH


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="A Telegram bot that sends news digests.")
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG_PATH, help="configuration file (YAML)"
    )
    parser.add_argument("--webhook", metavar="URL", help="serve a webhook at this public URL")
    parser.add_argument(
        "--listen", default="127.0.0.1:8443", metavar="HOST:PORT", help="webhook listen address"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    commands = parser.add_subparsers(dest="command")
    add_preview_arguments(
        commands.add_parser("preview", help="print digests of the sources, offline")
    )
    fetch = commands.add_parser("fetch", help="fetch every source once into the database")
    fetch.add_argument(  # SUPPRESS: a --config given before "fetch" must not be overridden
        "--config", type=Path, default=argparse.SUPPRESS, help="configuration file (YAML)"
    )
    return parser


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # APScheduler logs every job run at INFO: once a minute per job is noise, not news.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    if args.command == "preview":
        return run_preview(args)
    from bot.main import fetch_once, run_bot  # the chat side loads only when it is needed

    if args.command == "fetch":
        return fetch_once(args.config)
    return run_bot(args.config, webhook_url=args.webhook, listen=args.listen)


if __name__ == "__main__":
    sys.exit(main())
