"""Placeholders left in a post: ``TK``, ``TODO``, ``FIXME``, ``XXX``, lorem ipsum,
an empty link ``[text]()`` and an unfilled ``{{ … }}`` that is not a merge tag of
the post's mailing-list provider. Each is an error on its ``.md`` line."""

from __future__ import annotations

import re

from ..build import RenderedPost
from .base import ERROR, INFO, Finding, prose_lines

RULE = "placeholder"

#: (pattern, what it is); the words are upper case and whole words only
WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<![\w-])TK(?![\w-])"), "'TK'"),
    (re.compile(r"(?<![\w-])TODO(?![\w-])"), "'TODO'"),
    (re.compile(r"(?<![\w-])FIXME(?![\w-])"), "'FIXME'"),
    (re.compile(r"(?<![\w-])XXX(?![\w-])"), "'XXX'"),
    (re.compile(r"\blorem\s+ipsum\b", re.I), "'lorem ipsum'"),
)
EMPTY_LINK = re.compile(r"(?<!!)\[([^\]\n]*)\]\(\s*(?:<\s*>)?\s*\)")
TEMPLATE_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_URL = re.compile(r"(?:https?://|mailto:|www\.)[^\s)>\]]+", re.I)

#: The merge tags each provider fills in per recipient (a ``{{ … }}`` that matches
#: is not a placeholder). Mailchimp's are ``*|…|*``, so every ``{{`` is left over there.
MERGE_TAGS: dict[str, re.Pattern[str]] = {
    "listmonk": re.compile(
        r"^\{\{\s*(\.Subscriber\.|\.Campaign\.|UnsubscribeURL|OptinURL|MessageURL|ManageURL"
        r"|TrackLink|TrackView|Date|L\.T|Safe)"
    ),
    "buttondown": re.compile(
        r"^\{\{\s*(subscriber\.|unsubscribe_url|email_url|archive_url|manage_url)"
    ),
    "brevo": re.compile(r"^\{\{\s*(contact\.|params\.|unsubscribe|mirror|update_profile)"),
}


def provider_of(r: RenderedPost) -> str | None:
    """The list provider a post's newsletter is rendered for (from its unsubscribe tag)."""
    if r.email is None:
        return None
    from ..render.email import UNSUBSCRIBE_TAGS  # the renderer: only once there is an email

    for name, tag in UNSUBSCRIBE_TAGS.items():
        if r.email.unsubscribe_url == tag:
            return name
    return None


#: an empty link's end (the rest of EMPTY_LINK)
_EMPTY_LINK_END = re.compile(r"\]\(\s*(?:<\s*>)?\s*\)")


def _maybe(text: str) -> bool:
    """Whether ``text`` can hold a placeholder: most lines hold none of what each
    one needs (blanking the URLs only turns characters into spaces, so it cannot
    make a word appear)."""
    return (
        "{{" in text
        or "{%" in text
        or "TK" in text
        or "TODO" in text
        or "FIXME" in text
        or "XXX" in text
        or ("](" in text and _EMPTY_LINK_END.search(text) is not None)
        or "lorem" in text.lower()
    )


def _problems(text: str, provider: str | None) -> list[str]:
    if not _maybe(text):
        return []
    found: list[str] = []
    for m in EMPTY_LINK.finditer(text):
        found.append(f"an empty link [{m.group(1)}]()")
    bare = _URL.sub(lambda u: " " * len(u.group(0)), text)
    for pattern, what in WORDS:
        if pattern.search(bare):
            found.append(what)
    merge = MERGE_TAGS.get(provider or "")
    for m in TEMPLATE_TAG.finditer(text):
        if merge is None or not merge.match(m.group(0)):
            found.append(f"an unfilled '{m.group(0)}'")
    return found


HINT = (
    "finish the text before it is sent: write the missing part, remove the marker, "
    "or give the link its URL"
)


def check(r: RenderedPost) -> list[Finding]:
    """Every placeholder in the front matter's texts and the body (outside code).

    In a draft (never published or sent) they are info: work in progress."""
    post, provider, out = r.post, provider_of(r), []
    level = INFO if post.draft else ERROR
    texts: list[tuple[str, str | None]] = [("title", post.title), ("summary", post.summary)]
    if post.newsletter is not None:
        texts += [
            ("newsletter.subject", post.newsletter.subject),
            ("newsletter.preheader", post.newsletter.preheader),
        ]
    for key, value in texts:
        if not value or key not in post.line_of and key != "title":
            continue
        for what in _problems(value, provider):
            out.append(
                Finding(
                    level,
                    post.rel,
                    post.line(key),
                    f"placeholder in {key}: {what}",
                    HINT,
                    rule=RULE,
                )
            )
    for line, text in prose_lines(post.body, post.body_line):
        for what in _problems(text, provider):
            out.append(
                Finding(
                    level, post.rel, line, f"placeholder left in the text: {what}", HINT, rule=RULE
                )
            )
    return out
