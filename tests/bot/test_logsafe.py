import logging

import pytest

from bot.logsafe import RedactToken

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR])
def test_the_token_never_reaches_a_log_line_at_any_level(level, caplog):
    logger = logging.getLogger("test.logsafe")
    caplog.handler.addFilter(RedactToken(TOKEN))
    caplog.set_level(logging.DEBUG)
    logger.log(level, "POST https://api.telegram.org/bot%s/sendMessage", TOKEN)
    try:
        raise RuntimeError(f"failed calling /bot{TOKEN}/getMe")
    except RuntimeError:
        logger.log(level, "with traceback", exc_info=True)
    text = caplog.text
    assert TOKEN not in text
    assert "[token]" in text


def test_token_shaped_strings_are_redacted_even_when_not_the_configured_token():
    redactor = RedactToken(None)
    assert redactor.redact("bot987654:ABCDEFGHIJKLMNOPQRSTUVWXYZ/getMe") == "bot[token]/getMe"
