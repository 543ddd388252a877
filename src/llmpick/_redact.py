"""Secrets out of URLs, wherever a URL is shown or stored (a leaf module: imports nothing of
llmpick, so the store, the report and the CLI can all use it).

A base URL may carry a key: `https://host/v1?key=K`, `https://user:password@host/v1`. The URL
must still be sent as written, but every copy a person or a file sees goes through
`redact_url`:

    >>> redact_url("https://u:pw@host/v1?key=K&alt=sse")
    'https://u:***@host/v1?key=***&alt=sse'
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["REDACTED", "redact_url", "redact_urls_in", "url_secrets"]

REDACTED = "***"

# Query parameter names whose value is a secret: key, api_key, apiKey, x-api-key, token,
# access_token, secret, client_secret, signature, sig, password, auth, credential, ...
_SECRET_NAME = re.compile(
    r"key|token|secret|signature|^sig$|passw(or)?d|^pwd$|auth|credential|session", re.IGNORECASE
)
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def _secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(unquote(name).replace("-", "_")))


def url_secrets(url: str) -> list[str]:
    """The secret values in `url` (a password, secret query values), as written and decoded,
    longest first: what to scrub from any text that may quote the URL or a part of it."""
    found: set[str] = set()
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    if password:
        found.add(password)
    for pair in parts.query.split("&"):
        name, sep, value = pair.partition("=")
        if sep and value and _secret_name(name):
            found.add(value)
    found |= {unquote(value) for value in found}
    return sorted((value for value in found if value), key=len, reverse=True)


def redact_url(url: str) -> str:
    """`url` with its password and every secret-looking query value replaced by `***`; the
    rest is left exactly as written. Text that is not a URL comes back unchanged."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    netloc = parts.netloc
    if password is not None:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{REDACTED}@{host}"
    query = parts.query
    if query:
        pairs = []
        for pair in query.split("&"):
            name, sep, value = pair.partition("=")
            pairs.append(f"{name}={REDACTED}" if sep and value and _secret_name(name) else pair)
        query = "&".join(pairs)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_urls_in(text: str) -> str:
    """`text` with every URL in it passed through `redact_url` (for error messages and logs
    that quote URLs)."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)
