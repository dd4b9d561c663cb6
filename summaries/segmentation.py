"""Chinese word segmentation: Han text has no spaces, so words are found with jieba.

jieba ships its dictionary inside the package (nothing is downloaded); it is loaded on first
use (about a second), so a deployment without Chinese text never pays for it.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from typing import Any

# CJK Unified Ideographs with extension A, the compatibility block and the supplementary planes.
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")

_lock = threading.Lock()
_tokenizer: Any = None


def has_han(text: str) -> bool:
    """True when `text` holds Chinese characters (which need segmenting to find words)."""
    return _HAN.search(text) is not None


def _jieba() -> Any:
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            with warnings.catch_warnings():
                # jieba 0.42 imports pkg_resources, which warns that it is deprecated.
                warnings.simplefilter("ignore")
                import jieba

            jieba.setLogLevel(logging.WARNING)  # it logs the dictionary load at DEBUG to stderr
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _tokenizer = tokenizer
        return _tokenizer


def segment(text: str, *, for_search: bool = False) -> list[str]:
    """The words of `text` in order, blanks dropped.

    `for_search` adds the shorter dictionary words found inside long ones ("中华人民共和国"
    also yields "中华", "人民", "共和国"), so that an index built this way finds a query for
    any of them.
    """
    tokenizer = _jieba()
    pieces = tokenizer.cut_for_search(text) if for_search else tokenizer.cut(text)
    return [piece for piece in (p.strip() for p in pieces) if piece]
