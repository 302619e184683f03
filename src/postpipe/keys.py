"""The idempotency key of a newsletter: a value, not a string to parse.

The key is written into the campaign's name or tag at the provider (and into
an ``X-Postpipe-Key`` header by the ``outbox`` and ``smtp`` targets); it is how
a run that lost its ledger, or crashed between the provider's answer and the
ledger commit, finds the campaign again instead of sending a second one.

It is derived from what identifies a newsletter, the post's slug and the list
it goes to, and from nothing else: changing ``POSTPIPE_SITE_URL`` (or any
other setting) never changes it. Keys made before 0.2 hashed the site URL;
:meth:`IdempotencyKey.matches` still recognises them, so campaigns created
then are found too.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

#: ``<slug>-pp<10 hex>``: the form used before 0.2 (sha256 of "site_url|slug").
_LEGACY = re.compile(r"(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)-pp[0-9a-f]{10}")
#: ``<slug>-pk<10 hex>``: the current form (sha256 of "slug|list").
_CURRENT = re.compile(r"(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)-pk[0-9a-f]{10}")


@dataclass(frozen=True)
class IdempotencyKey:
    """A newsletter's key: ``slug`` plus the text stored at the provider (``value``)."""

    slug: str
    value: str
    #: the list the newsletter goes to (None: the target's default), for targets that
    #: look a campaign up in that list's own place (``smtp``, ``outbox``)
    list_id: str | None = field(default=None, compare=False)

    @classmethod
    def for_newsletter(
        cls, slug: str, list_name: str, list_id: str | None = None
    ) -> IdempotencyKey:
        """The key of ``slug``'s newsletter to ``list_name``.

        ``list_name`` names the audience: the target and the post's
        ``newsletter.list`` (or the target's default), e.g. ``"mailchimp:"``.
        """
        digest = hashlib.sha256(f"{slug}|{list_name}".encode()).hexdigest()[:10]
        return cls(slug, f"{slug}-pk{digest}", list_id)

    @classmethod
    def stored(cls, slug: str, value: str, list_id: str | None = None) -> IdempotencyKey:
        """A key read back from the ledger (any form, old or new)."""
        return cls(slug, value, list_id)

    def matches(self, text: str | None) -> bool:
        """Whether a campaign name or tag at the provider is this newsletter's key.

        True for this exact key, and for a key of the same slug in the form
        used before 0.2, which hashed the site URL: such a campaign was created
        for this post by an earlier postpipe, whatever the URL was then.
        """
        if not text:
            return False
        text = text.strip()
        if text == self.value:
            return True
        legacy = _LEGACY.fullmatch(text)
        return legacy is not None and legacy.group("slug") == self.slug

    def __str__(self) -> str:
        return self.value


def slug_of(text: str) -> str | None:
    """The slug inside a key of either form, or None when ``text`` is not a key."""
    m = _CURRENT.fullmatch(text) or _LEGACY.fullmatch(text)
    return m.group("slug") if m else None
