"""The ``folder`` CMS: a deployable static site in ``POSTPIPE_PUBLISH_DIR``.

It writes only files whose bytes changed, and removes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ..tempfiles import write_atomic
from .base import CMS, FileContent, PostPush, RemoteRef

if TYPE_CHECKING:
    from ..config import Settings


class FolderCMS(CMS):
    name: ClassVar[str] = "folder"
    schedules: ClassVar[bool] = False  # a folder cannot publish later by itself
    site_pages: ClassVar[bool] = True  # index, tags, feed and sitemap are files here too

    def __init__(self, settings: Settings, **_: object) -> None:
        self.dir = settings.path(settings.publish_dir)
        self.writes = 0

    def find(self, post: PostPush) -> RemoteRef | None:
        page = next((p for p in post.files if p.endswith("/index.html")), f"{post.slug}/")
        if (self.dir / page.removesuffix("index.html") / "index.html").is_file():
            return RemoteRef(id=post.slug, url=post.url)
        return None

    def upsert(self, post: PostPush, existing: RemoteRef | None) -> RemoteRef:
        """Write the post's page and its assets (``post.files``)."""
        self._write(post.files)
        return RemoteRef(id=post.slug, url=post.url)

    def finish(self, files: Mapping[str, FileContent]) -> int:
        """Index, tag and category pages, feed, sitemap and static files."""
        before = self.writes
        self._write(files)
        return self.writes - before

    def _write(self, files: Mapping[str, FileContent]) -> None:
        for rel, content in files.items():
            data = content.read_bytes() if isinstance(content, Path) else content
            dest = self.dir / rel
            if dest.is_file() and dest.stat().st_size == len(data) and dest.read_bytes() == data:
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(dest, data)
            self.writes += 1
