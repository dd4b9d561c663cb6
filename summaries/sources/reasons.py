"""Why a URL, a page or an OPML file cannot be used: English sentences from fixed templates.

summaries/ knows no languages, so it says why in English. Every reason it gives a user is one
of the templates below with its {placeholders} filled in; the bot recognises the template
(also in a reason stored as a source's last error) and says it in the reader's language
(bot/reasons.py, whose catalog entries a test keeps in step with this list).
"""

from __future__ import annotations

# The URL guard (guard.py).
NOT_A_WEB_ADDRESS = "this is not a valid web address ({detail})"
ONLY_HTTP = "only http:// and https:// addresses can be followed"
NO_HOST = "the address has no host name"
NO_CREDENTIALS = "addresses with a user name or password are not accepted"
PORT_ZERO = "port 0 is not a valid port"
PRIVATE_ADDRESS = "{host} is a private or reserved address"
RESOLVES_PRIVATE = "{host} resolves to a private or reserved address"
CANNOT_RESOLVE = "cannot resolve {host}"
NO_UNIX_SOCKETS = "unix sockets are never reachable from a user's URL"
# Fetching (fetch.py).
TIMED_OUT = "timed out fetching {url}"
TOO_LARGE = "response from {url} is larger than {limit} bytes"
INVALID_URL = "invalid URL {url} ({detail})"
CANNOT_FETCH = "cannot fetch {url} ({detail})"
HTTP_STATUS = "HTTP {status} {reason} from {url}"
# OPML files (opml.py).
OPML_TOO_LARGE = "the file is larger than {size} KB"
OPML_DOCTYPE = "the file declares a document type or entities, which OPML never needs"
OPML_NOT_XML = "the file is not well-formed XML ({detail})"
OPML_NOT_OPML = "the file is XML but not OPML (its root element is not <opml>)"
OPML_TOO_MANY = "the file has more than {count} outlines"

TEMPLATES = (
    NOT_A_WEB_ADDRESS,
    ONLY_HTTP,
    NO_HOST,
    NO_CREDENTIALS,
    PORT_ZERO,
    PRIVATE_ADDRESS,
    RESOLVES_PRIVATE,
    CANNOT_RESOLVE,
    NO_UNIX_SOCKETS,
    TIMED_OUT,
    TOO_LARGE,
    INVALID_URL,
    CANNOT_FETCH,
    HTTP_STATUS,
    OPML_TOO_LARGE,
    OPML_DOCTYPE,
    OPML_NOT_XML,
    OPML_NOT_OPML,
    OPML_TOO_MANY,
)
