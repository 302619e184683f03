"""Orchestration of ``build`` and ``check``: load → render → check → write.

The posts come from :func:`postpipe.site.load_site`, as for every command;
both commands are all-or-nothing: ``build`` writes nothing while a post has an
error, ``check`` reports every error of every post.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .assets import digest, file_digest
from .build import FileContent, RenderedPost
from .cache import Entry, Prepared, build_files
from .checks import ERROR, Finding, check_stylesheet, from_errors, sending, spam, translations
from .config import Settings
from .errors import ErrorGroup, TemplateError
from .render.blog import FEED_ENTRIES
from .site import Site, load_site
from .tempfiles import write_atomic
from .translations import section

# ---------------------------------------------------------------------------
# build


@dataclass
class BuildReport:
    pages: int = 0
    drafts_skipped: int = 0
    newsletters: int = 0
    newsletters_refused: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    rendered_now: int = 0
    written: int = 0
    removed: int = 0
    site: Site | None = None

    @property
    def rendered(self) -> list[RenderedPost]:
        """Every post's full render (loaded from the cache on demand)."""
        return [self.site.rendered(e) for e in self.site.entries] if self.site else []

    def counts(self) -> tuple[int, int]:
        errors = sum(f.level == ERROR for f in self.findings)
        return errors, len(self.findings) - errors


def _feed_entries(site: Site) -> list[Entry]:
    """The newest non-draft posts of each language: what the feeds show."""
    count: dict[str, int] = {}
    out = []
    for e in site.entries:
        lang = section(e.lang, site.settings.lang)
        if not e.draft and count.get(lang, 0) < FEED_ENTRIES:
            count[lang] = count.get(lang, 0) + 1
            out.append(e)
    return out


def _list_files(site: Site) -> dict[str, FileContent]:
    entries = site.entries
    newest = _feed_entries(site)
    feed = [site.cache.load(e, keep=False).view for e in newest]
    files = site.builder.lists.list_files(site.cache.views(entries), feed)
    return {f"site/{path}": content for path, content in files.items()}


def _content_digest(content: FileContent) -> str:
    return file_digest(content) if isinstance(content, Path) else digest(content)


class _Stage:
    """Files to change, written under a staging folder until the build succeeded."""

    def __init__(self, out: Path, manifest: dict[str, str] | None) -> None:
        self.out = out
        self.out_str = str(out)
        self.manifest = manifest or {}
        self.cold = manifest is None or not (out / "site").is_dir()
        # beside the output folder, not in it: a failed first build creates nothing
        self.dir = out.parent / f".{out.name}.staging-{os.getpid()}"
        self.staged: list[str] = []
        self.seen: set[str] = set()
        self.dirs: set[Path] = set()

    def needs(self, path: str, d: str) -> bool:
        if path in self.seen:  # e.g. an image that several posts show
            return False
        if self.cold or self.manifest.get(path) != d:
            return True
        return not os.path.exists(os.path.join(self.out_str, path))  # deleted by hand

    def add(self, path: str, content: FileContent) -> None:
        dest = self.dir / path
        if dest.parent not in self.dirs:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self.dirs.add(dest.parent)
        if isinstance(content, Path):
            shutil.copyfile(content, dest)
        else:
            dest.write_bytes(content)
        self.staged.append(path)
        self.seen.add(path)

    def commit(self, expected: dict[str, str]) -> int:
        """Move the staged files into place; remove files of ours that are gone."""
        removed = 0
        self.out.mkdir(parents=True, exist_ok=True)
        if self.cold:
            for top in ("site", "newsletters"):
                (self.dir / top).mkdir(parents=True, exist_ok=True)
                final, old = self.out / top, self.out / f".old-{os.getpid()}-{top}"
                if final.exists():
                    final.rename(old)
                (self.dir / top).rename(final)
                shutil.rmtree(old, ignore_errors=True)
        else:
            for path in self.staged:
                dest = self.out / path
                if dest.parent not in self.dirs:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    self.dirs.add(dest.parent)
                os.replace(self.dir / path, dest)
            for path in self.manifest:
                if path not in expected:
                    (self.out / path).unlink(missing_ok=True)
                    removed += 1
                    _prune_dirs((self.out / path).parent, self.out)
        self.discard()
        return removed

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def build_site(
    settings: Settings, out: Path, *, drafts: bool = False, jobs: int | None = None
) -> BuildReport:
    """``postpipe build``: ``out/site`` and ``out/newsletters``, incrementally.

    Front matter or template errors raise before the output changes. A
    newsletter with an error finding is not written (the blog page is). Changed
    files are staged as posts are rendered and moved into place at the end (the
    first build swaps whole folders); files of posts that are gone are removed.
    """
    manifest_path = _manifest_path(settings, out)
    stage = _Stage(out, _read_manifest(manifest_path))
    expected: dict[str, str] = {}
    rendered_now: set[str] = set()

    def emit(p: Prepared) -> None:
        rendered_now.add(p.entry.rel)
        for path, content in p.files.items():
            d = _content_digest(content)
            expected[path] = d
            if stage.needs(path, d):
                stage.add(path, content)

    try:
        site = load_site(
            settings, drafts=drafts, all_or_nothing=True, jobs=jobs, emit=emit, save=False
        )
        cache, builder = site.cache, site.builder
        for e in site.entries:  # posts taken from the cache
            if e.rel in rendered_now:
                continue
            refused = e.has_email and any(f.level == ERROR for f in e.findings)
            outputs = {
                p: d for p, d in e.outputs.items() if not (refused and p.startswith("newsletters/"))
            }
            expected.update(outputs)
            if any(stage.needs(p, d) for p, d in outputs.items()):
                ok = not any(f.level == ERROR for f in e.findings)
                files = build_files(cache.load(e, keep=False), newsletter=ok)
                for path, content in files.items():
                    if stage.needs(path, _content_digest(content)):
                        stage.add(path, content)
        static = {f"site/{a.name}": a for a in builder.static.values()}
        for path, asset in static.items():
            expected[path] = asset.digest
            if stage.needs(path, asset.digest):
                stage.add(path, asset.source)

        # listing pages, feed and sitemap: re-rendered only when what they show changed
        feed_bodies = [e.body for e in _feed_entries(site)]
        lists_key = digest(*(e.listing for e in site.entries), *feed_bodies, builder.site.css_href)
        outputs = cache.lists.get("outputs", {})
        lists_rendered = (
            stage.cold
            or cache.lists.get("key") != lists_key
            or any(stage.needs(p, d) for p, d in outputs.items())
        )
        if lists_rendered:
            files = {p: c for p, c in _list_files(site).items() if p not in static}
            outputs = {p: _content_digest(c) for p, c in files.items()}
            for path, content in files.items():
                if stage.needs(path, outputs[path]):
                    stage.add(path, content)
            cache.set_lists({"key": lists_key, "outputs": outputs})
        expected.update(outputs)
        removed = stage.commit(expected)
    except BaseException:
        stage.discard()
        raise
    # lists_rendered: the new lists key is saved even when no file changed, or every
    # later no-op build would render the listing pages again
    if expected != stage.manifest or stage.staged or site.rendered_now or lists_rendered:
        _write_file(manifest_path, json.dumps(expected, indent=0, sort_keys=True).encode())
        cache.save()
    findings = site.findings
    refused_slugs = sorted(
        {e.slug for e in site.entries if e.has_email and any(f.level == ERROR for f in e.findings)}
    )
    newsletters = sum(1 for p in expected if p.startswith("newsletters/")) // 2
    return BuildReport(
        pages=len(site.entries),
        drafts_skipped=len(site.drafts),
        newsletters=newsletters,
        newsletters_refused=refused_slugs,
        findings=findings,
        rendered_now=site.rendered_now,
        written=len(stage.staged),
        removed=removed,
        site=site,
    )


def _manifest_path(settings: Settings, out: Path) -> Path:
    """Where the files of the last build into ``out`` are listed, with digests."""
    name = digest(str(out.resolve()))[:16]
    return settings.state_dir / "cache" / "manifests" / f"{name}.json"


def _read_manifest(path: Path) -> dict[str, str] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_file(dest: Path, content: FileContent) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(dest, content.read_bytes() if isinstance(content, Path) else content)


def _prune_dirs(folder: Path, top: Path) -> None:
    while folder != top and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


# ---------------------------------------------------------------------------
# check


def check_site(
    settings: Settings, *, links: bool = False, now: datetime | None = None
) -> tuple[list[Finding], int]:
    """``postpipe check``: every finding of every post, drafts included; never raises
    for bad posts (they become findings). Uses the render cache like ``build``.
    ``links`` also checks every external link over the network (``check --links``)."""
    try:
        site = load_site(settings, drafts=True)
    except TemplateError as exc:
        return from_errors([exc]), 0
    except ErrorGroup as exc:  # no posts/ folder
        return from_errors(exc.errors), 0
    findings = from_errors(site.errors) + site.findings + check_stylesheet(settings)
    findings += sending.sender_findings(settings)
    newsletters = (p.rendered for p in site.posts if p.email_facts() is not None)
    findings += spam.site_findings(settings, newsletters)
    findings += translations.site_findings(p.post for p in site.posts if p.entry.translation_key)
    if links:
        from .checks import links as linkcheck

        rendered = (p.rendered for p in site.posts)
        findings += linkcheck.site_findings(settings, rendered, now or datetime.now(UTC))
    checked = len(site.entries) + len(site.broken)
    return findings, checked


__all__ = [
    "BuildReport",
    "build_site",
    "check_site",
]
