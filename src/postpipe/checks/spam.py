"""The spam score of each newsletter's MIME message, from SpamAssassin where it is
installed (Debian: ``apt-get install spamassassin``; its rules ship in
/usr/share/spamassassin, so no ``sa-update`` is needed).

Local rules only (``--local``: no DNS blocklists, no Razor/Pyzor, nothing on the
network). Messages go through SpamAssassin in batches of :data:`BATCH` (an mbox on
stdin): starting it costs about two seconds, scoring a message little. Scores are
cached by the digest of what was scored in ``.postpipe/cache/spam/`` after each
batch, so an unchanged newsletter is never scored twice, and a run that ran out of
time (:data:`TIMEOUT` per batch) is continued by the next one.

A score of 3 or more is a warning, 5 or more (SpamAssassin's own threshold) an
error. Without SpamAssassin: one info line saying how to enable it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .base import ERROR, INFO, WARNING, Finding

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..build import RenderedPost
    from ..config import Settings
    from ..render.email import RenderedEmail

RULE = "spam-score"
WARN_AT = 3.0
ERROR_AT = 5.0
TIMEOUT = 120  # seconds for one run of SpamAssassin over a batch
BATCH = 25  # messages per SpamAssassin run
CACHE_FORMAT = 1
_SEP = "From postpipe-spam-check-{} Mon May  4 10:00:00 2026"
#: the recipient and Date of every scored message (fixed: the bytes depend on the content)
SUBSCRIBER = "subscriber@example.com"
DATE = datetime(2026, 1, 1, tzinfo=UTC)
_STATUS = re.compile(r"^X-Spam-Status: .*?score=(-?[\d.]+)", re.M)
_ROW = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z][A-Z0-9_]+)\s+(.*)$")


@dataclass(frozen=True)
class SpamResult:
    score: float
    #: (points, rule name, description) of every rule that fired
    rules: tuple[tuple[float, str, str], ...]

    def top(self, n: int = 5) -> str:
        fired = sorted((r for r in self.rules if r[0] > 0), key=lambda r: -r[0])[:n]
        return ", ".join(f"{name} ({pts:+.1f}: {desc})" for pts, name, desc in fired)


def installed() -> str | None:
    """The spamassassin command, or None."""
    return shutil.which("spamassassin")


def digest(message: bytes) -> str:
    return hashlib.sha256(b"%d:" % CACHE_FORMAT + message).hexdigest()[:32]


def _parse(report: str) -> SpamResult | None:
    m = _STATUS.search(report)
    if m is None:
        return None
    rules: list[tuple[float, str, str]] = []
    table = report.split("---- ----", 1)
    if len(table) == 2:
        for line in table[1].split("\n")[1:]:
            row = _ROW.match(line)
            if row:
                rules.append((float(row.group(1)), row.group(2), row.group(3).strip()))
            elif line.strip() and not line.startswith(" " * 10):
                break
    return SpamResult(float(m.group(1)), tuple(rules))


def _mbox_escape(message: bytes) -> bytes:
    return re.sub(rb"(?m)^(>*From )", rb">\1", message)


def score(
    messages: Mapping[str, bytes], cache_dir: Path | None, *, write_cache: bool = True
) -> dict[str, SpamResult]:
    """Score messages (name → RFC 5322 bytes); cached ones are not scored again.

    Returns an empty dict when SpamAssassin is not installed; a message it could
    not score is left out."""
    exe = installed()
    if exe is None:
        return {}
    out: dict[str, SpamResult] = {}
    todo: dict[str, tuple[str, bytes]] = {}
    for name, message in messages.items():
        d = digest(message)
        cached = _read(cache_dir, d)
        if cached is not None:
            out[name] = cached
        else:
            todo[name] = (d, message)
    names = list(todo)
    for start in range(0, len(names), BATCH):
        batch = names[start : start + BATCH]
        scored = _run(exe, [todo[n][1] for n in batch])
        if scored is None:  # out of time: what is left waits for the next run
            break
        for index, result in scored.items():
            out[batch[index]] = result
            _write(cache_dir if write_cache else None, todo[batch[index]][0], result)
    return {n: out[n] for n in messages if n in out}


def _run(exe: str, messages: list[bytes]) -> dict[int, SpamResult] | None:
    """One SpamAssassin process over ``messages``: index → result (None: it failed
    to start or ran past :data:`TIMEOUT`)."""
    mbox = b"".join(
        _SEP.format(i).encode() + b"\n" + _mbox_escape(m).rstrip(b"\n") + b"\n\n"
        for i, m in enumerate(messages)
    )
    try:
        run = subprocess.run(
            [exe, "--local", "--test-mode", "--mbox", "-x"],
            input=mbox,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = run.stdout.decode("utf-8", "replace")
    parts = re.split(r"^From postpipe-spam-check-(\d+) .*$", text, flags=re.M)
    out: dict[int, SpamResult] = {}
    for i in range(1, len(parts) - 1, 2):
        index = int(parts[i])
        result = _parse(parts[i + 1])
        if result is not None and index < len(messages):
            out[index] = result
    return out


def cached(message: bytes, cache_dir: Path) -> SpamResult | None:
    """The score of a message if an earlier run scored it (never runs SpamAssassin)."""
    return _read(cache_dir, digest(message))


def _read(cache_dir: Path | None, d: str) -> SpamResult | None:
    if cache_dir is None:
        return None
    try:
        data = json.loads((cache_dir / f"{d}.json").read_text(encoding="utf-8"))
        rules = tuple((float(p), str(n), str(d)) for p, n, d in data["rules"])
        return SpamResult(float(data["score"]), rules)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(cache_dir: Path | None, d: str, result: SpamResult) -> None:
    if cache_dir is None:
        return
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_dir / f".{d}.tmp"
        tmp.write_text(json.dumps({"score": result.score, "rules": result.rules}), "utf-8")
        tmp.replace(cache_dir / f"{d}.json")
    except OSError:
        pass  # a cache that cannot be written only costs time


def finding(rel: str, line: int | None, result: SpamResult, post: str | None) -> Finding | None:
    """The finding for one newsletter's score (None below the warning level)."""
    if result.score < WARN_AT:
        return None
    level = ERROR if result.score >= ERROR_AT else WARNING
    return Finding(
        level,
        rel,
        line,
        f"SpamAssassin scores the newsletter {result.score:.1f} "
        f"({'spam' if level == ERROR else 'close to spam'}: 5 is spam); rules: {result.top()}",
        "rewrite what the rules point at: shouting capitals, 'free', '!!!', urgency "
        "('act now'), a subject in capitals, an image-only mail",
        rule=RULE,
        post=post,
    )


def not_installed() -> Finding:
    return Finding(
        INFO,
        "",
        None,
        "SpamAssassin is not installed: newsletters get no spam score",
        "install it to score every newsletter locally (no network): "
        "apt-get install spamassassin (Debian/Ubuntu), brew install spamassassin (macOS)",
        rule=RULE,
    )


def cache_dir(state_dir: Path) -> Path:
    return state_dir / "cache" / "spam"


def newsletter_message(settings: Settings, email: RenderedEmail) -> bytes:
    """The message SpamAssassin scores for a rendered newsletter: as a subscriber
    gets it, with a fixed Date, Message-ID and MIME boundary (so the bytes, and the
    cache key, depend on the content only)."""
    from ..render.email import build_message, personalise

    d = hashlib.sha256((email.subject + email.html + email.text).encode()).hexdigest()[:24]
    domain = settings.from_email.rpartition("@")[2] or "example.org"
    msg = build_message(
        subject=email.subject,
        html=email.html,
        text=email.text,
        sender_name=settings.sender_name,
        sender_email=settings.from_email,
        reply_to=settings.reply_address,
        to=SUBSCRIBER,
        unsubscribe_url=personalise(email.unsubscribe_url, SUBSCRIBER),
        date=DATE,
        preheader=email.preheader,
        message_id=f"<{d}@{domain}>",
        boundary=f"=_postpipe_{d}",
    )
    return msg.as_bytes()


def site_findings(
    s: Settings, posts: Iterable[RenderedPost], *, write_cache: bool = True
) -> list[Finding]:
    """The spam findings of the newsletters among ``posts`` (one SpamAssassin run;
    ``write_cache=False`` for a dry run, which writes nothing)."""
    messages: dict[str, bytes] = {}
    lines: dict[str, tuple[int | None, str]] = {}
    for r in posts:
        if r.email is None or r.post.newsletter is None:
            continue
        messages[r.rel] = newsletter_message(s, r.email)
        lines[r.rel] = (r.post.line("newsletter"), r.slug)
    if not messages:
        return []
    if installed() is None:
        return [not_installed()]
    results = score(messages, cache_dir(s.state_dir), write_cache=write_cache)
    out = []
    for rel, result in results.items():
        f = finding(rel, lines[rel][0], result, lines[rel][1])
        if f is not None:
            out.append(f)
    if len(results) < len(messages):
        out.append(
            Finding(
                INFO,
                "",
                None,
                f"SpamAssassin scored {len(results)} of {len(messages)} newsletters "
                f"(a batch took longer than {TIMEOUT} s, or it failed)",
                "run postpipe check again: the scores made so far are kept, so it goes on "
                "where this run stopped",
                rule=RULE,
            )
        )
    return out
