"""The ``folder`` CMS: a deployable static site in ``POSTPIPE_PUBLISH_DIR``.

It writes only files whose bytes changed, and removes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ..build import event_files
from ..tempfiles import write_atomic
from .base import PostPush, RemoteRef

if TYPE_CHECKING:
    from ..build import Builder, FileContent
    from ..config import Settings


class FolderCMS:
    name: ClassVar[str] = "folder"
    schedules: ClassVar[bool] = False  # a folder cannot publish later by itself

    def __init__(self, settings: Settings, *, builder: Builder, **_: object) -> None:
        self.settings = settings
        self.builder = builder
        self.dir = settings.path(settings.publish_dir)
        self.writes = 0

    def _url(self, slug: str) -> str:
        return self.builder.site.url_of(f"{slug}/")

    def find(self, post: PostPush) -> RemoteRef | None:
        if (self.dir / post.slug / "index.html").is_file():
            return RemoteRef(id=post.slug, url=self._url(post.slug))
        return None

    def upsert(self, post: PostPush, existing: RemoteRef | None) -> RemoteRef:
        files: dict[str, FileContent] = {f"{post.slug}/index.html": post.rendered.page.encode()}
        for asset in post.assets:
            files[asset.name] = asset.source
        files.update(event_files(post.rendered))  # the invitation's event.ics
        self._write(files)
        return RemoteRef(id=post.slug, url=self._url(post.slug))

    def finish(self, published: Sequence[PostPush]) -> int:
        """Index, tag and category pages, feed, sitemap and static files."""
        before = self.writes
        files = self.builder.site_files([p.rendered for p in published])
        self._write(files)
        return self.writes - before

    def _write(self, files: dict[str, FileContent]) -> None:
        for rel, content in files.items():
            data = content.read_bytes() if isinstance(content, Path) else content
            dest = self.dir / rel
            if dest.is_file() and dest.stat().st_size == len(data) and dest.read_bytes() == data:
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(dest, data)
            self.writes += 1
