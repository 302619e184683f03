"""The one place that hides secrets from everything postpipe prints or stores.

A :class:`Redactor` is a ``str -> str`` function. It replaces with ``***``:

* every form of each secret (at least :data:`MIN_SECRET_LEN` characters; shorter
  strings would mangle ordinary text): as is, URL-encoded (``quote`` and
  ``quote_plus``), hex, in upper or lower case (matching ignores case), and
  base64 (standard or URL-safe, padded or not) of the secret alone or inside
  anything else, such as ``user:secret`` (HTTP Basic) or ``\\0user\\0secret``
  (SMTP AUTH PLAIN): the whole base64 word that contains it is masked;
* the parts of a key that are secrets on their own: the key without its
  provider suffix (Mailchimp ``abc123-us21``: ``abc123``), the secret of an
  ``id:secret`` key (Ghost) and, when that secret is hex, the forms of its
  decoded bytes (Ghost signs its tokens with those), and long ``-``-separated
  parts (Brevo ``xkeysib-<hex>-<random>``);
* credential-looking values whatever the secret: ``Authorization`` and API-key
  headers, ``https://user:password@`` URLs, ``password=``/``token=``/``api_key=``
  parameters and JSON keys named like key/token/password/secret/signature.

Every output path uses one: the CLI (messages and ``--traceback``), the
ledger (``last_error`` and the event log), ``publish``/``send`` lines, the HTTP
client and the SMTP target.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import string
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from .config import Settings

__all__ = ["MASK", "MIN_SECRET_LEN", "Redactor", "redact"]

MASK = "***"
#: Shorter secrets are not redacted: replacing them would mangle ordinary text.
MIN_SECRET_LEN = 6
# A base64 core shorter than this could match ordinary words.
_MIN_CORE = 8
# The characters of a base64 word (both alphabets); "=" only as padding.
_B64_CHARS = frozenset(string.ascii_letters + string.digits + "+/-_")
# Mailchimp: the data centre suffix of a key (abc123-us21).
_SUFFIX_RE = re.compile(r"(.+)-[a-z]{2,4}\d{1,3}")
_HEX_RE = re.compile(r"(?:[0-9a-fA-F]{2})+")
# a "-"-separated part this long is a secret of its own (Brevo xkeysib-<hex>-<random>)
_LONG_PART = 16

_SENSITIVE_WORDS = r"(?:key|token|password|passwd|secret|signature)"
# "Authorization: Bearer abc" and '"api-key": "abc"' (header dumps, JSON echoes).
_HEADER_RE = re.compile(
    r"(?i)\b((?:proxy-)?authorization|x-api-key|api-key|x-auth-token)"
    r"(\"?'?\s*:\s*\"?'?)([^\"'\r\n]+)"
)
# ?api_key=abc&access_token=def, also form bodies (password=abc at the start).
_QUERY_RE = re.compile(
    rf"(?i)(^|[?&;\s])([\w.\-\[\]]*{_SENSITIVE_WORDS}[\w.\-\[\]]*=)([^&#\s\"'<>]+)"
)
# {"password": "abc"} in JSON bodies.
_JSON_RE = re.compile(rf"(?i)(\"[\w\-]*{_SENSITIVE_WORDS}[\w\-]*\"\s*:\s*\")([^\"]*)(\")")
# https://user:password@host
_USERINFO_RE = re.compile(r"(//[^/\s:@]*:)([^@/\s]+)(@)")


def _lower(text: str) -> str:
    """``text`` in lower case, character for character (same length, same offsets)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _parts(secret: str) -> tuple[list[str], list[bytes]]:
    """The texts and byte strings that are secrets of their own within ``secret``."""
    texts = [secret, secret.strip()]
    m = _SUFFIX_RE.fullmatch(secret)
    if m:
        texts.append(m.group(1))
    if ":" in secret:
        texts.append(secret.rpartition(":")[2])
    texts += [p for p in secret.split("-") if len(p) >= _LONG_PART]
    raw: list[bytes] = []
    for text in texts:
        if _HEX_RE.fullmatch(text) and len(text) >= 2 * MIN_SECRET_LEN:
            raw.append(binascii.unhexlify(text))
    texts = [t for t in dict.fromkeys(texts) if len(t) >= MIN_SECRET_LEN]
    return texts, raw


def _b64(data: bytes) -> list[str]:
    """Standard and URL-safe base64 of ``data``, padded and not."""
    std = base64.b64encode(data).decode("ascii")
    url = base64.urlsafe_b64encode(data).decode("ascii")
    return [std, std.rstrip("="), url, url.rstrip("=")]


def _b64_cores(data: bytes) -> list[str]:
    """What the base64 of any text containing ``data`` contains, at each of the three
    alignments: the encoding of the whole 3-byte groups of ``data[k:]``."""
    cores = []
    for k in range(3):
        whole = (len(data) - k) // 3 * 3
        if whole >= _MIN_CORE * 3 // 4:
            cores += _b64(data[k : k + whole])
    return cores


@lru_cache(maxsize=256)
def _forms(secret: str, users: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """``(exact forms, base64 cores)`` of one secret, in lower case."""
    exact: set[str] = set()
    cores: set[str] = set()
    if len(secret) < MIN_SECRET_LEN:
        return frozenset(), frozenset()
    texts, raw = _parts(secret)
    for text in texts:
        data = text.encode("utf-8")
        exact.update({text, quote(text, safe=""), quote(text), quote_plus(text), data.hex()})
        raw.append(data)
        for user in users:
            for joined in (f"{user}:{text}", f"\0{user}\0{text}"):
                cores.update(_b64(joined.encode("utf-8")))
    for data in raw:
        cores.update(_b64_cores(data))
        if len(data) >= MIN_SECRET_LEN:
            cores.update(_b64(data))
    return (
        frozenset(_lower(f) for f in exact if len(f) >= MIN_SECRET_LEN),
        frozenset(_lower(f) for f in cores if len(f) >= _MIN_CORE),
    )


def _spans(text: str, low: str, form: str, *, word: bool) -> Iterable[tuple[int, int]]:
    start = 0
    while (i := low.find(form, start)) >= 0:
        a, b = i, i + len(form)
        if word:  # the whole base64 word, with its padding
            while a > 0 and text[a - 1] in _B64_CHARS:
                a -= 1
            while b < len(text) and text[b] in _B64_CHARS:
                b += 1
            pad = b
            while b < len(text) and text[b] == "=" and b - pad < 2:
                b += 1
        yield a, b
        start = i + len(form)


class Redactor:
    """``redactor(text)``: ``text`` without any form of the secrets (see the module)."""

    def __init__(self, secrets: Iterable[str | None] = (), users: Iterable[str | None] = ()):
        self.secrets = tuple(dict.fromkeys(s for s in secrets if s))
        self.users = tuple(dict.fromkeys(u for u in users if u))
        exact: set[str] = set()
        cores: set[str] = set()
        for secret in self.secrets:
            e, c = _forms(secret, self.users)
            exact |= e
            cores |= c
        # longest first: a longer form wins over a shorter one inside it
        self._exact = sorted(exact, key=len, reverse=True)
        self._cores = sorted(cores, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        if self._exact or self._cores:
            text = self._mask_secrets(text)
        text = _HEADER_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
        text = _QUERY_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
        text = _JSON_RE.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
        return _USERINFO_RE.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)

    def _mask_secrets(self, text: str) -> str:
        low = _lower(text)
        spans = [s for form in self._cores for s in _spans(text, low, form, word=True)]
        spans += [s for form in self._exact for s in _spans(text, low, form, word=False)]
        if not spans:
            return text
        out, end = [], 0
        for a, b in sorted(spans):
            if b <= end:
                continue
            if a < end:  # overlaps the previous span: extend it
                a = end
            else:
                out.append(text[end:a])
                out.append(MASK)
            end = b
        out.append(text[end:])
        return "".join(out)

    def with_secrets(self, extra: Iterable[str | None]) -> Redactor:
        """This redactor plus more secrets."""
        return Redactor([*self.secrets, *extra], self.users)

    @classmethod
    def for_settings(cls, settings: Settings) -> Redactor:
        """Every secret of the settings, with the user names they go with."""
        from .config import FIELDS

        return cls(
            settings.secrets(),
            [getattr(settings, f.attr) for f in FIELDS if f.attr.endswith("_user")],
        )

    @classmethod
    def for_site(cls, root: str | Path = ".", environ: Mapping[str, str] | None = None) -> Redactor:
        """The secret variables as set in ``root/.env`` and the environment, read
        without validating anything: for errors raised before (or while) the
        settings load. Never raises."""
        from .config import FIELDS

        values: dict[str, str] = {}
        try:
            from dotenv import dotenv_values

            path = Path(root) / ".env"
            if path.is_file():
                values.update({k: v for k, v in dotenv_values(path).items() if v})
        except Exception:  # noqa: BLE001 - an unreadable .env is reported elsewhere
            pass
        values.update(os.environ if environ is None else environ)
        secrets = [values.get(f.env) for f in FIELDS if f.secret]
        users = [values.get(f.env) for f in FIELDS if f.attr.endswith("_user")]
        return cls(secrets, [u.strip() for u in users if u] + [u for u in users if u])


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every form of ``secrets`` and credential-looking values masked."""
    return Redactor(secrets)(text)


def same(text: str) -> str:
    """The identity: a redactor that hides nothing (the default where none is given)."""
    return text
