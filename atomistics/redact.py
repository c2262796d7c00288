"""Credential redaction: the one place that turns text that may hold a secret into text safe to print.

Every message, log line and stored field that can contain a database or
LaunchPad URL passes through :func:`redact`. It sits in the bottom layer
(next to ``errors`` and ``units``) so that every other layer may import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# scheme://user:password@host  ->  scheme://user:***@host
# scheme://token@host          ->  scheme://***@host   (a bare token is a secret too)
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/@\s'\"]*)@")
# key=value pairs in libpq/ODBC connection strings: password=..., pwd=...
_KEYVALUE = re.compile(r"(?i)\b(password|passwd|pwd)\s*=\s*[^\s;&'\"]+")


def _mask_userinfo(match: re.Match[str]) -> str:
    userinfo = match.group("userinfo")
    if ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        return f"{match.group('scheme')}{user}:***@"
    return f"{match.group('scheme')}***@"


def redact(text: object, secrets: Iterable[object] = ()) -> str:
    """Return ``str(text)`` with URL passwords, ``password=...`` pairs and the given secrets masked.

    >>> redact("postgresql://user:SECRETPW@127.0.0.1:1/db")
    'postgresql://user:***@127.0.0.1:1/db'
    """
    out = _USERINFO.sub(_mask_userinfo, str(text))
    out = _KEYVALUE.sub(lambda m: f"{m.group(1)}=***", out)
    for secret in secrets:
        if secret is not None and str(secret):
            out = out.replace(str(secret), "***")
    return out
