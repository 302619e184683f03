"""What the CMS adapters with an HTTP API and a media library share (WordPress, Ghost).

Construction (the clock, the media store), the media store's bookkeeping by
content hash under the site's own name (an upload belongs to one site), and the
"is the date far enough ahead to schedule" rule. Each provider keeps only its
mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, ClassVar

from .base import CMS, MediaStore, PostPush

if TYPE_CHECKING:
    from ..assets import Asset
    from ..config import Settings
    from ..http import Http


class HostedCMS(CMS):
    """A CMS that serves the post's images from its own media library."""

    schedules: ClassVar[bool] = True
    #: the shortest time ahead the CMS accepts for publishing later (seconds)
    min_schedule_seconds: ClassVar[int] = 0

    def __init__(
        self,
        settings: Settings,
        *,
        media: MediaStore | None = None,
        clock: Callable[[], datetime] | None = None,
        http: Http | None = None,
        **_: object,
    ) -> None:
        self.media = media
        self.clock = clock or (lambda: datetime.now(UTC))
        made = self._http(settings)  # checks the settings, always
        self.http = http or made
        self.site = self._site_of(self.http.base_url)
        #: uploads belong to one site: they are remembered under ``name:site``
        self.media_target: str | None = f"{self.name}:{self.site}"

    def _http(self, settings: Settings) -> Http:
        """Check the provider's settings; the session to its API."""
        raise NotImplementedError

    def _site_of(self, base_url: str) -> str:
        """The site's address, from the API's base URL."""
        return base_url

    def _stored(self, asset: Asset) -> tuple[str | None, str | None] | None:
        """``(id, url)`` of an earlier upload of these bytes to this site."""
        if self.media is None or self.media_target is None:
            return None
        return self.media.get(self.media_target, asset.digest)

    def _remember(self, asset: Asset, remote_id: str, url: str) -> None:
        """At once: a later failure must not upload it again."""
        if self.media is not None and self.media_target is not None:
            self.media.put(self.media_target, asset.digest, remote_id, url)

    def url_of_slug(self, slug: str) -> str:
        """Where this CMS shows the post with ``slug`` (for links between editions)."""
        return f"{self.site}/{slug}/"

    def editions_html(self, post: PostPush) -> str:
        """Links from the body to the post's editions in other languages (a CMS has
        no language switch of its own); empty without editions."""
        if not post.editions:
            return ""
        links = " · ".join(
            f'<a href="{escape(self.url_of_slug(e.slug))}" hreflang="{escape(e.lang)}" '
            f'lang="{escape(e.lang)}">{escape(e.label)}</a>'
            for e in post.editions
        )
        return f'\n<p class="translations">{links}</p>'

    def ahead_enough(self, post: PostPush) -> bool:
        """The post is dated far enough ahead for the CMS to publish it later."""
        ahead = (post.date - self.clock()).total_seconds()
        return post.scheduled and ahead >= self.min_schedule_seconds
