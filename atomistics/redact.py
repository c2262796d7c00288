"""Credential redaction: the one place that turns text that may hold a secret into text safe to print.

Every message, log line and stored field that can contain a database or
LaunchPad URL passes through :func:`redact`. It sits in the bottom layer
(next to ``errors`` and ``units``) so that every other layer may import it.

Three kinds of secret are masked:

* the password (or bare token) of a URL: ``scheme://user:password@host`` becomes
  ``scheme://user:***@host``. The user-info part runs to the *last* ``@`` before
  the host's ``/``, ``?`` or ``#``, so a password holding an unescaped ``@``
  is masked whole;
* ``password=...`` / ``pwd=...`` pairs (libpq and ODBC connection strings, URL
  query parameters) and ``password: ...`` / ``'password': '...'`` (YAML, a dict's
  repr);
* any literal secret the caller passes (a LaunchPad file's ``password``).

:func:`strip_password` gives the URL without its password, for what has to be
*stored* (a Firework's spec): libpq then takes the password from
``PGPASSWORD`` or ``~/.pgpass`` on the machine that connects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

# scheme://userinfo@host: userinfo may hold '@' (greedy to the last one in the authority)
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^\s/?#]*)@")
# password=..., pwd=..., password: ..., 'password': '...'
_KEYVALUE = re.compile(
    r"(?i)(?P<key>\b(?:password|passwd|pwd))(?P<sep>['\"]?\s*[:=]\s*['\"]?)(?P<value>[^\s;&'\",}]+)"
)


def _mask_userinfo(match: re.Match[str]) -> str:
    userinfo = match.group("userinfo")
    if ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        return f"{match.group('scheme')}{user}:{MASK}@"
    return f"{match.group('scheme')}{MASK}@"


def redact(text: object, secrets: Iterable[object] = ()) -> str:
    """Return ``str(text)`` with URL passwords, ``password=...`` pairs and the given secrets masked.

    >>> redact("postgresql://user:SECRETPW@127.0.0.1:1/db")
    'postgresql://user:***@127.0.0.1:1/db'
    >>> redact("host=db password=s3cret dbname=x")
    'host=db password=*** dbname=x'
    """
    out = str(text)
    # Literal secrets first: masking the URL first could split one (a password with '@').
    for secret in secrets:
        if secret is not None and len(str(secret)) >= 3:
            out = out.replace(str(secret), MASK)
    out = _USERINFO.sub(_mask_userinfo, out)
    out = _KEYVALUE.sub(lambda m: f"{m.group('key')}{m.group('sep')}{MASK}", out)
    return out


def has_password(url: object) -> bool:
    """Whether ``url`` carries a password (``scheme://user:password@host``)."""
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return False
    return bool(parts.scheme and parts.password)


def strip_password(url: str) -> str:
    """``scheme://user:password@host/db`` -> ``scheme://user@host/db`` (other URLs unchanged).

    For values that are stored or passed on (a Firework's spec, a file): the
    client that connects takes the password from its own machine (libpq:
    ``PGPASSWORD`` or ``~/.pgpass``).

    >>> strip_password("postgresql://user:pw@db.example.org:5432/results")
    'postgresql://user@db.example.org:5432/results'
    """
    if not has_password(url):
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    user = parts.netloc.rpartition("@")[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))
