"""``postpipe new``: a post file from the template, with every key commented."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from .config import Settings
from .content import slugify
from .errors import ContentError
from .render.templating import make_env, render


def new_post(settings: Settings, title: str, now: datetime) -> Path:
    """Write ``posts/YYYY-MM-DD-<slug>.md``; refuses to overwrite."""
    slug = slugify(title)
    if not slug:
        raise ContentError(
            f"the title {title!r} gives an empty slug",
            hint="use a title with some letters or digits",
        )
    local = now.astimezone(settings.tz)
    path = settings.root / "posts" / f"{local:%Y-%m-%d}-{slug}.md"
    if path.exists():
        raise ContentError(
            "the post already exists", path=str(path), hint="edit it, or choose another title"
        )
    text = render(
        make_env(settings.root),
        "new-post.md",
        title=json.dumps(title, ensure_ascii=False)[1:-1],
        date=f"{local:%Y-%m-%d %H:%M}",
        lang=settings.lang,
        author=settings.author,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
