"""Recognise the furniture of news pages so that no bullet is spent on it.

Real article text carries lines that are not news: bylines ("By John Smith, BBC News"),
datelines, timestamps ("PUBLISHED: 14:11 EST, 3 May 2024", "Release time:May 24, 2024"),
photo captions and credits ("Image caption ...", "(Getty Images)", "[Photo/Xinhua]"), prompts
("Read more", "Share this", "Click here", "Follow us on ..."), editor's notes, "Related:" lists,
agency footers ("Reporting by ...; Editing by ..."), and their Chinese equivalents
("责任编辑：", "来源：", "（完）"). They are removed BEFORE ranking: left in, they would take
bullets and, being repeated on a page, distort overlap-based centrality.

Each rule matches the whole sentence (or a bracketed credit or dateline at its edge) and is
anchored on the label that gives it away, so ordinary sentences that merely mention a photo,
a time or a source survive ("The photo, taken in 1995, shows ...", "Officials will meet at
10:30 GMT on Monday.").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["clean_sentence", "clean_sentences", "is_boilerplate", "is_fragment"]

_MONTHS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_WEEKDAYS = (
    "mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:rs(?:day)?)?|fri(?:day)?|"
    "sat(?:urday)?|sun(?:day)?"
)
_ZONES = "gmt|utc|bst|cet|cest|est|edt|cst|cdt|pst|pdt|mst|mdt|jst|hkt|sgt|ist|aest|beijing time"
# What is left of a timestamp line once its label is gone: only dates, times and glue.
_DATE_TIME_PIECE = re.compile(
    rf"\b(?:{_MONTHS}|{_WEEKDAYS}|{_ZONES}|a\.?m\.?|p\.?m\.?|on|at|of|the|updated|"
    rf"\d{{1,4}}(?:st|nd|rd|th)?)\b|\d{{1,2}}[:.]\d{{2}}(?::\d{{2}})?|[-/,.:|()\s]+",
    re.IGNORECASE,
)
_HAS_DATE_OR_TIME = re.compile(
    rf"\d{{1,2}}[:.]\d{{2}}|\b(?:{_MONTHS})\b\.?\s*\d|\d\s*(?:{_MONTHS})\b|\d{{4}}[-/]\d{{1,2}}",
    re.IGNORECASE,
)
_TIMESTAMP_LABEL = re.compile(
    r"^\W*(?:(?:last\s+)?(?:published|updated|modified|posted|released?|release\s+time|"
    r"date|time|first\s+published)\b(?:\s+(?:on|at|date|time)\b)?)\s*[:：|-]?\s*",
    re.IGNORECASE,
)

_BYLINE_LABEL = re.compile(
    r"^\W*(?:by|written\s+by|words\s+by|reporting\s+by|story\s+by|text\s+by)\s+", re.IGNORECASE
)
# Lower-case words a byline may contain besides names: "By our correspondent in Paris".
_BYLINE_GLUE_TEXT = """and in for the of our staff reporter reporters correspondent correspondents
    editor writer news de van von der al da di le la"""
_BYLINE_GLUE = frozenset(_BYLINE_GLUE_TEXT.split())
_BYLINE_SEPARATORS = re.compile(r"[\s,|/·•–—&()-]+")
_AGENCY_FOOTER = re.compile(
    r"^\W*\(?\s*(?:additional\s+)?(?:reporting|writing|editing|compiled|produced)\s+by\b.*"
    r"(?:;|\)$|editing\s+by)",
    re.IGNORECASE,
)
_LABELLED_CREDIT = re.compile(
    r"^\W*(?:photo|image|picture|photograph|pictured|video|graphic|illustration|file\s+photo|"
    r"top\s+image|main\s+image|caption|credit|copyright|source|editor|responsible\s+editor|"
    r"author|reporter|translator|proofreader|contributor|photographer)s?"
    r"(?:\s+(?:caption|copyright|credit|source))?\s*(?:[:：|/]|(?P<by>\s+by\b))",
    re.IGNORECASE,
)
_BBC_CAPTION = re.compile(r"^(?:image|media|video)\s+(?:caption|copyright|source)\b", re.I)
_CREDIT_AGENCIES = (
    r"getty(?:\s+images)?|reuters|afp|ap|pa|epa|xinhua|ians|pti|shutterstock|alamy|"
    r"bloomberg|imaginechina|vcg|visual\s+china|cfp|ic|file|handout|supplied|courtesy.*"
)
_CREDIT_BODY = (
    rf"[\[(]\s*(?:(?:photo|image|picture|photograph|file\s+photo|video)s?\s*"
    rf"(?:[:/|]|by)\s*[^\])]{{0,60}}|(?:{_CREDIT_AGENCIES})(?:\s*(?:photos?|images?))?(?:\s*/[^\])]{{0,40}})?)"
    rf"\s*[\])]"
)
# A credit is trimmed only at the edges of a sentence: "(PA)" mid-sentence may be content.
_EDGE_CREDIT = re.compile(
    rf"^\s*{_CREDIT_BODY}\s*|\s*{_CREDIT_BODY}(?=\s*[.!?]?\s*$)", re.IGNORECASE
)
# "LONDON (Reuters) - ", "Beijing, May 24 (Xinhua) -- ", "WASHINGTON, March 3 - ".
_DATELINE_PREFIX = re.compile(
    r"^(?:[A-Z][A-Za-z.'’ -]{1,30}(?:,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?\s*\([A-Za-z .]{2,30}\)"
    r"|[A-Z][A-Z.'’ -]{1,30},\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})\s*[-–—]{1,2}(?:\s+|$)"
)
_PROMPT = re.compile(
    r"^\W*(?:"
    r"read\s+more(?:\s*$|\s*[:>»…|-]|\s+(?:about|on|at|here|from|in|news)\b)|"
    r"(?:read|see)\s+also\b|"
    r"share\s+(?:this|on|via|with|the\s+story|article)\b|"
    r"click\s+(?:here|to|on\s+the|the\s+link)\b|"
    r"tap\s+here\b|"
    r"follow\s+(?:us|me|the\s+\w+)\s+(?:on|at|via)\b|follow\s+us\W*$|"
    r"(?:sign\s+up|subscribe)\s+(?:to|for|now|here|today)\b|"
    r"(?:download|get)\s+(?:our|the)\s+(?:free\s+)?app\b|"
    r"continue\s+reading\b|"
    r"(?:advertisement|sponsored(?:\s+content)?|most\s+read|top\s+stories|"
    r"related(?:\s+(?:articles?|stories|coverage|links|news|topics|content|reading))?)"
    r"(?:\s*$|\s*[:：|-])|"
    r"editor['’]?s\s+note\b|"
    r"(?:this\s+(?:article|story)\s+(?:was|has\s+been|is)\s+"
    r"(?:originally|first|updated|amended|corrected|published|produced))|"
    r"©|copyright\s+(?:©|\(c\)|\d{4}|by\b)|all\s+rights\s+reserved|"
    r"(?:email|e-mail|tel|phone|contact)\s*:|"
    r"(?:watch|listen)\s*(?:now)?\s*:"
    r")",
    re.IGNORECASE,
)
# A staff credit on its own: "Daily Mail Reporter .", "MailOnline Reporter", "By . Associated
# Press ." (a capitalised desk name, then the role, nothing else).
_STAFF_CREDIT = re.compile(
    r"^\W*(?:by\W+)?(?:[A-Z][\w'’.-]*\s+){0,4}"
    r"(?:reporters?|correspondents?|staff(?:\s+writers?)?|writers?|editor)\W*$",
    re.IGNORECASE,
)
_AGENCY_ONLY = re.compile(
    r"^\W*(?:by\W+)?(?:associated\s+press|reuters|afp|press\s+association|pa|ap)\W*$",
    re.IGNORECASE,
)
# Stand-alone picture captions and prompts of tabloid pages: "Scroll down for video",
# "Pictured: the scene on Monday", "Above: ...", "Left to right: ...".
_CAPTION = re.compile(
    r"^\W*(?:scroll\s+down\s+for\s+(?:video|more)|"
    r"(?:pictured|above|below|left|right|top|bottom|inset|left\s+to\s+right)\s*:)",
    re.IGNORECASE,
)
# A fragment of a sentence broken inside a name: it opens with the tail of a company name, a
# generic word and a legal suffix ("Technology Co., Ltd., Zhejiang University ..."), which no
# name starts with, or with the suffix itself.
_NAME_TAIL_START = re.compile(
    r"^(?:(?:Technology|Technologies|Group|Holdings?|Industr(?:y|ies)|Development|Investment|"
    r"Sciences?|Engineering|Equipment|Pharmaceuticals?|Materials|Electronics|Trading|"
    r"Networks?|Systems|Services|Intelligence)\s+)?(?:Co|Ltd|Inc|Corp|LLC|PLC)\.?,"
)
_LOWER_START = re.compile(r"^[\"'“‘(\[]*[^\W\d_A-Z](?![\w'’-]*[A-Z])")
# The same furniture in Chinese pages: "责任编辑：王明", "来源：新华社", "原标题：...", "（完）".
_ZH_LABELLED = re.compile(
    r"^[\W_]*(?:责任编辑|编辑|来源|记者|通讯员|摄影|摄|图片来源|图源|原标题|作者|校对|审核|"
    r"监制|发布时间|更新时间|发布日期)\s*[:：]"
)
_ZH_END_MARK = re.compile(r"^[(（\[【]\s*完\s*[)）\]】]$")
# A labelled Chinese line longer than this is news that happens to start with the label.
_MAX_ZH_LABELLED_CHARS = 40
_LETTER = re.compile(r"[^\W\d_]")
_SPACES = re.compile(r"\s{2,}")
# Prompts are short; a long sentence that starts "Sign up for ..." is probably news.
_MAX_PROMPT_WORDS = 25
# A sentence cut off mid-way (a truncated body): it ends where another clause or a quotation
# was about to begin.
_UNFINISHED_END = re.compile(r"[“‘«「『,，;；:：]\s*$")


def _is_timestamp(sentence: str) -> bool:
    labelled = _TIMESTAMP_LABEL.match(sentence)
    if not labelled and not _HAS_DATE_OR_TIME.search(sentence):
        return False
    rest = sentence[labelled.end() :] if labelled else sentence
    if labelled and not _LETTER.search(rest) and not re.search(r"\d", rest):
        return len(sentence.split()) <= 3  # a bare "Updated", "PUBLISHED: ." or "Release time:"
    return _DATE_TIME_PIECE.sub("", rest).strip() == "" and bool(_HAS_DATE_OR_TIME.search(rest))


def _is_byline(text: str) -> bool:
    if re.fullmatch(r"\W*by\W*", text, re.IGNORECASE):
        return True  # "By ." : a byline whose name the page put elsewhere
    label = _BYLINE_LABEL.match(text)
    if not label:
        return False
    names = [word for word in _BYLINE_SEPARATORS.split(text[label.end() :].rstrip(". ")) if word]
    return 0 < len(names) <= 10 and all(
        word[0].isupper() or word.lower() in _BYLINE_GLUE for word in names
    )


def _is_labelled_credit(text: str) -> bool:
    label = _LABELLED_CREDIT.match(text)
    if not label:
        return False
    # "Photo by Jane Doe/AFP" is a credit; "Photos by amateurs show the comet ..." is news.
    return not label.group("by") or len(text[label.end() :].split()) <= 5


def _is_dateline_only(text: str) -> bool:
    match = _DATELINE_PREFIX.match(text)
    return match is not None and match.end() >= len(text.rstrip())


def is_boilerplate(sentence: str) -> bool:
    """Whether a sentence is page furniture rather than news (see the module docstring)."""
    text = sentence.strip()
    if not _LETTER.search(_EDGE_CREDIT.sub("", text)):
        return True  # nothing but numbers, symbols or a credit such as "(Getty Images)"
    return bool(
        _is_timestamp(text)
        or _is_byline(text)
        or _AGENCY_FOOTER.match(text)
        or _is_labelled_credit(text)
        or _BBC_CAPTION.match(text)
        or (_PROMPT.match(text) and len(text.split()) <= _MAX_PROMPT_WORDS)
        or _is_dateline_only(text)
        or _STAFF_CREDIT.match(text)
        or _AGENCY_ONLY.match(text)
        or (_CAPTION.match(text) and len(text.split()) <= _MAX_PROMPT_WORDS)
        or _is_chinese_furniture(text)
    )


def _is_chinese_furniture(text: str) -> bool:
    if _ZH_END_MARK.match(text):
        return True
    return bool(_ZH_LABELLED.match(text)) and len(text) <= _MAX_ZH_LABELLED_CHARS


def is_fragment(sentence: str) -> bool:
    """Whether a sentence is a piece of one rather than a whole: it starts in lower case (in a
    script that has case) or with the tail of a name ("Technology Co., Ltd., Zhejiang ..."), or
    it was cut off: it ends in an opening quotation mark, a comma, a semicolon or a colon.

    Fragments stay in the article (they still carry its words) but the ranker demotes them.
    """
    text = sentence.strip()
    return bool(
        _LOWER_START.match(text) or _NAME_TAIL_START.match(text) or _UNFINISHED_END.search(text)
    )


def clean_sentence(sentence: str) -> str:
    """Drop a leading agency dateline ("LONDON (Reuters) - ") and a photo credit at either edge."""
    text = _DATELINE_PREFIX.sub("", sentence.strip(), count=1)
    text = _EDGE_CREDIT.sub("", text).strip()
    return _SPACES.sub(" ", text)


def clean_sentences(sentences: Iterable[str]) -> list[str]:
    """The sentences that are news, with datelines and credits trimmed, in their order."""
    kept = []
    for sentence in sentences:
        if is_boilerplate(sentence):
            continue
        cleaned = clean_sentence(sentence)
        if cleaned and not is_boilerplate(cleaned):
            kept.append(cleaned)
    return kept
