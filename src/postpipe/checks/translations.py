"""Rule ``translation-mismatch``: editions of one post that disagree on the event.

Posts that share a ``translation_key`` describe the same event in several
languages: its start, end, place and speakers must agree. Titles, summaries and
bodies are translated and never compared; a missing translation is fine.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ..content import Post
from .base import WARNING, Finding

RULE = "translation-mismatch"
_HINT = "the editions of one post describe the same event: correct the one that is wrong"


def _when(value: datetime | None) -> str:
    return value.isoformat() if value is not None else "none"


def _place(value: str) -> str:
    return " ".join(value.split()).casefold()


def _facts(post: Post) -> dict[str, tuple[str, object, str]]:
    """fact → (front matter key, comparable value, as shown)."""
    ev = post.event
    names = tuple(sorted(" ".join(s.name.split()) for s in post.speakers))
    facts: dict[str, tuple[str, object, str]] = {
        "speakers": ("speakers", names, ", ".join(names) or "none"),
    }
    if ev is not None:
        facts["event start"] = ("event.start", ev.start, _when(ev.start))
        facts["event end"] = ("event.end", ev.end, _when(ev.end))
        facts["event location"] = ("event.location", _place(ev.location), ev.location or "none")
    return facts


def site_findings(posts: Iterable[Post]) -> list[Finding]:
    """A warning on each edition whose event facts differ from the first edition's
    (file order), naming both files."""
    groups: dict[str, list[Post]] = {}
    for post in posts:
        if post.translation_key:
            groups.setdefault(post.translation_key, []).append(post)
    out: list[Finding] = []
    for editions in groups.values():
        editions.sort(key=lambda p: p.rel)
        first, facts = editions[0], _facts(editions[0])
        for other in editions[1:]:
            theirs = _facts(other)
            for fact, (key, value, shown) in theirs.items():
                if fact not in facts:
                    continue
                _, first_value, first_shown = facts[fact]
                if first_value == value:
                    continue
                out.append(
                    Finding(
                        WARNING,
                        other.rel,
                        other.line(key) if key in other.line_of else other.line("event"),
                        f"{fact} differs between the translations {other.rel} ({shown}) "
                        f"and {first.rel} ({first_shown})",
                        _HINT,
                        rule=RULE,
                        post=other.slug,
                    )
                )
    return out


__all__ = ["RULE", "site_findings"]
