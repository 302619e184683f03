"""The one rule for files a post may pull into the output.

A post names files by path: its hero ``image``, speaker ``photo``\\s, images in
the body and links to other posts' ``.md`` files. Every such file, with
symlinks followed, must lie inside the site's ``posts/`` folder and must be
neither a dotfile nor inside a dot-folder (``../.env`` is in the site folder but
is never content). ``build``, ``check``, ``publish``, the preview and the CMS
uploads all go through :func:`content_problem`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

#: where images live, as every path error says
IMAGE_HINT = "put images beside the post or in posts/images/ and give a path relative to the post"
_HIDDEN_HINT = "rename it (and its folders) so no part starts with '.'; dotfiles are never content"

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


@dataclass(frozen=True)
class Refusal:
    """Why a path is not content: ``is outside posts/`` or ``is a hidden file``."""

    reason: str
    hint: str


def content_problem(path: Path, posts_dir: Path) -> Refusal | None:
    """None when ``path`` may be published as content of ``posts_dir``, else why not.

    ``path`` is absolute (or relative to the working folder); symlinks are
    followed, so a link inside ``posts/`` to a file elsewhere is refused too.
    """
    real = os.path.relpath(os.path.realpath(path), os.path.realpath(posts_dir))
    if real == os.curdir or real == os.pardir or real.startswith(os.pardir + os.sep):
        return Refusal("is outside posts/", IMAGE_HINT)
    # where it is named counts too: posts/.secret/x.png stays hidden behind a symlink
    named = os.path.relpath(os.path.abspath(path), os.path.abspath(posts_dir))
    for rel in (real, named):
        if any(part.startswith(".") and part != os.pardir for part in rel.split(os.sep)):
            return Refusal("is a hidden file", _HIDDEN_HINT)
    return None


@dataclass(frozen=True)
class Located:
    """Where an image reference led: the file (when it may be used) or why not."""

    path: Path | None
    tried: tuple[Path, ...]  # every place looked at (what makes a cached render stale)
    refusal: Refusal | None = None


def locate_image(ref: str, post_dir: Path, posts_dir: Path) -> Located:
    """Find the file of an image reference: beside the post, in ``posts/``, in
    ``posts/images/`` (the first that exists), then apply :func:`content_problem`.

    A reference with a URL scheme is never a file (``Located(None, ())``).
    """
    if _SCHEME.match(ref):
        return Located(None, ())
    rel = ref.split("?")[0].lstrip("/")
    tried = []
    for base in (post_dir, posts_dir, posts_dir / "images"):
        # normpath, not resolve: no disk access for the places that do not exist
        candidate = Path(os.path.normpath(base / rel))
        tried.append(candidate)
        if candidate.is_file():
            refusal = content_problem(candidate, posts_dir)
            if refusal is not None:
                return Located(None, tuple(tried), refusal)
            return Located(candidate, tuple(tried))
    return Located(None, tuple(tried))
