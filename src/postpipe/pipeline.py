"""Orchestration of ``build`` and ``check``: load → render → check → write."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .build import Builder, RenderedPost, newsletter_files, write_tree
from .checks import ERROR, Finding, from_errors, run_checks
from .config import Settings
from .content import load_posts
from .errors import ErrorGroup, TemplateError


@dataclass
class BuildReport:
    pages: int = 0
    drafts_skipped: int = 0
    newsletters: int = 0
    newsletters_refused: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    rendered: list[RenderedPost] = field(default_factory=list)

    def counts(self) -> tuple[int, int]:
        errors = sum(f.level == ERROR for f in self.findings)
        return errors, len(self.findings) - errors


def render_site(
    settings: Settings, *, drafts: bool = False
) -> tuple[Builder, list[RenderedPost], int]:
    """Load and render every post; raises ErrorGroup on bad input (nothing rendered)."""
    builder = Builder(settings, drafts=drafts)
    posts, _ = load_posts(settings.root, tz=settings.tz, lang=settings.lang, author=settings.author)
    kept = [p for p in posts if drafts or not p.draft]
    return builder, builder.render_all(kept), len(posts) - len(kept)


def build_site(settings: Settings, out: Path, *, drafts: bool = False) -> BuildReport:
    """``postpipe build``: write ``out/site`` and ``out/newsletters`` atomically.

    Front matter or template errors raise before anything is written. A
    newsletter with an error finding is not written (the blog page is).
    """
    builder, rendered, skipped = render_site(settings, drafts=drafts)
    findings = run_checks(rendered)
    refused = sorted(
        {
            r.slug
            for r in rendered
            for f in findings
            if f.level == ERROR and f.path == r.post.rel and r.email is not None
        }
    )
    newsletters = newsletter_files(rendered, skip=set(refused))
    write_tree(out, {"site": builder.site_files(rendered), "newsletters": newsletters})
    return BuildReport(
        pages=len(rendered),
        drafts_skipped=skipped,
        newsletters=len(newsletters) // 2,
        newsletters_refused=refused,
        findings=findings,
        rendered=rendered,
    )


def check_site(settings: Settings) -> tuple[list[Finding], int]:
    """``postpipe check``: every finding of every post, drafts included; never raises
    for bad posts (they become findings)."""
    posts, errors = load_posts(
        settings.root,
        tz=settings.tz,
        lang=settings.lang,
        author=settings.author,
        raise_errors=False,
    )
    findings = from_errors(errors)
    try:
        builder = Builder(settings, drafts=True)
        findings += run_checks(builder.render_all(posts))
    except TemplateError as exc:
        findings += from_errors([exc])
    except ErrorGroup as exc:
        findings += from_errors(exc.errors)
    checked = len(posts) + len({e.path for e in errors})
    return findings, checked
