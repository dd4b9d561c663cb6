"""Turn news articles into short bullet-point digests.

This package is pure Python: it parses sources into `Article`s, splits sentences offline,
ranks them and produces `Digest`s. It imports nothing from Telegram or the database.
"""

from summaries.models import Article, Digest, SummariserSettings, Topic

__all__ = ["Article", "Digest", "SummariserSettings", "Topic"]
