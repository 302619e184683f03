"""The build: posts → rendered pages, newsletters and assets → files on disk.

``Builder`` renders one site's posts, pages and newsletters into strings and
file references (``PostLinks`` resolves the links between posts;
``build_lists.SiteLists`` renders the lists, feeds and sitemap); ``pipeline``
decides what to render and writes it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .assets import IMAGE_PROBLEM_HINT, Asset, digest, image_problem
from .build_lists import SiteLists, static_assets
from .config import Settings
from .content import Post
from .paths import content_problem, locate_image
from .render import blog, i18n
from .render.images import EMAIL_MAX, ImageStore, Picture
from .render.templating import make_env
from .translations import Edition, PostLink, Translations, post_path

if TYPE_CHECKING:  # Markdown, lxml and Jinja load when something is rendered
    import jinja2

    from .render.email import RenderedEmail
    from .render.markup import Markup, MarkupResult, Resolver

FileContent = bytes | Path  # bytes to write, or a file to copy


@dataclass
class RenderedPost:
    """One post after rendering: its template view, blog page and newsletter."""

    post: Post
    view: dict[str, Any]
    markup: MarkupResult
    assets: dict[str, Asset]
    page: str
    email: RenderedEmail | None = None
    summary_given: bool = True
    #: files read while rendering (images, including places a missing one was looked
    #: for) and links to other posts with the slug they resolved to: what makes a
    #: cached render stale
    deps: tuple[str, ...] = ()
    links: tuple[tuple[str, str | None], ...] = ()
    #: references in the body that must not be published: (as written, what is
    #: wrong, hint), e.g. ("../.env", "image '../.env' is outside posts/", "…")
    refused: tuple[tuple[str, str, str], ...] = ()
    #: the derivatives of every local image, by the name of its master asset
    pictures: dict[str, Picture] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.post.slug

    @property
    def rel(self) -> str:
        """The post file, relative to the site (as findings name it)."""
        return self.post.rel

    @property
    def date(self) -> datetime:
        return self.post.date

    @property
    def path(self) -> str:
        """The page's folder under the site: ``slug/`` or ``sv/slug/`` (DESIGN §7)."""
        return str(self.view["path"])

    @property
    def info(self) -> blog.PostView:
        """The typed fields of ``view`` (the templates get the mapping)."""
        return blog.PostView.of(self.view)

    @property
    def url(self) -> str:
        """Where the blog page lives on the site."""
        return self.info.url

    @property
    def page_digest(self) -> str:
        """Hash of the page and every file it uses: what a CMS push depends on."""
        return page_digest(self.page, self.assets.values())

    def email_facts(self) -> EmailFacts | None:
        """What the newsletter depends on, cheaply comparable (see EmailFacts)."""
        if self.email is None or self.post.newsletter is None:
            return None
        nl = self.post.newsletter
        return EmailFacts(
            subject=self.email.subject,
            preheader=self.email.preheader,
            list_id=nl.list,
            send_at=nl.send_at,
            html=digest(self.email.html),
            text=digest(self.email.text),
        )


@dataclass(frozen=True)
class EmailFacts:
    """A newsletter as rendered for the site's own URL, as digests."""

    subject: str
    preheader: str
    list_id: str | None
    send_at: datetime | None
    html: str
    text: str


def page_digest(page: str, assets: Iterable[Asset]) -> str:
    return digest(page, *(a.digest for a in sorted(assets, key=lambda a: a.name)))


class Builder:
    """Renders posts of one site. One instance reuses its Markdown and Jinja setup."""

    def __init__(
        self,
        settings: Settings,
        *,
        drafts: bool = False,
        write_cache: bool = True,
        image_scratch: Path | None = None,
    ) -> None:
        self.settings = settings
        self.drafts = drafts
        self.write_cache = write_cache
        self._jinja_cache = settings.state_dir / "cache" / "jinja" if write_cache else None
        # a run that writes no cache (a dry run) keeps new image files in a scratch
        # folder, shared with its worker processes
        self.images = ImageStore(
            settings.state_dir / "cache" / "images",
            read_only=not write_cache,
            scratch=image_scratch,
        )
        self.static = static_assets(settings.root)
        css = self.static.get("style.css")
        base_path = urlsplit(settings.site_url).path.rstrip("/")
        self.site = blog.SiteInfo(
            title=settings.site_title,
            url=settings.site_url,
            base_path=base_path,
            lang=settings.lang,
            author=settings.author,
            css_href=f"{base_path}/{css.name}" if css else f"{base_path}/static/style.css",
        )
        self.links = PostLinks(self.site, settings.root / "posts", drafts=drafts)

    @cached_property
    def env(self) -> jinja2.Environment:
        return make_env(self.settings.root, self._jinja_cache)

    @cached_property
    def markup(self) -> Markup:
        from .render.markup import Markup

        return Markup()

    @cached_property
    def lists(self) -> SiteLists:
        """The index, tag and category pages, feeds, sitemap, 404 and static files."""
        return SiteLists(self.env, self.site, self.static)

    # -- rendering -------------------------------------------------------------
    def resolver(
        self,
        post: Post,
        links: Mapping[Path, PostLink],
        assets: dict[str, Asset],
        deps: list[str],
        seen_links: list[tuple[str, str | None]],
        refused: list[tuple[str, str, str]],
        pictures: dict[str, Picture] | None = None,
    ) -> Resolver:
        """How the body's images and links to posts resolve; a reference that breaks
        the path rule (paths.content_problem) or an image Pillow cannot read is
        left unresolved and listed in ``refused``."""
        from .render.markup import Resolver

        posts_dir = self.settings.root / "posts"

        def image(src: str) -> Asset | None:
            found = locate_image(src, post.source.parent, posts_dir)
            deps.extend(str(p) for p in found.tried)
            if found.refusal is not None:
                refused.append((src, f"image '{src}' {found.refusal.reason}", found.refusal.hint))
                return None
            if found.path is None:
                return None
            problem = image_problem(found.path)
            if problem is not None:
                refused.append((src, f"image '{src}' {problem}", IMAGE_PROBLEM_HINT))
                return None
            return self._add_picture(found.path, assets, pictures)

        def other(path: str) -> str | None:
            return self.links.href(post, path, links, seen_links, refused)

        return Resolver(image=image, post=other, asset_href=lambda a: self.site.href(a.name))

    def render_post(
        self,
        post: Post,
        by_source: Mapping[Path, PostLink],
        *,
        view_url: str | None = None,
        list_target: str | None = None,
    ) -> RenderedPost:
        """Render one post. ``by_source`` maps every post file to its slug and draft
        flag (a ``Post`` or a ``PostLink``), for links between posts."""
        assets: dict[str, Asset] = {}
        deps: list[str] = []
        seen_links: list[tuple[str, str | None]] = []
        refused: list[tuple[str, str, str]] = []
        pictures: dict[str, Picture] = {}
        # a speaker photo is shown 48 px wide: its email file (and blog thumbnail) is 96
        shown = [(post.image, EMAIL_MAX)] + [(s.photo, SPEAKER_PX) for s in post.speakers]
        for img, email_width in shown:
            if img is not None:
                self._add_picture(img.path, assets, pictures, email_width)
                deps.append(str(img.path))
        resolver = self.resolver(post, by_source, assets, deps, seen_links, refused, pictures)
        editions: tuple[Edition, ...] = ()
        if post.translation_key:
            index = self.links.translations(by_source)
            editions = index.editions(post.translation_key)
            seen_links.append(
                (f"group:{post.translation_key}", index.signature(post.translation_key))
            )
        result = self.markup.convert(post.body, resolver, post.lang)
        from .render.markup import first_paragraph

        summary = post.summary or first_paragraph(result.html)
        hero_picture = pictures.get(assets[str(post.image.path)].name) if post.image else None
        card_hero = hero_picture.email if hero_picture else None
        share = self._share_card(post, card_hero.source if card_hero else None)
        assets["#share-card"] = share
        if post.share_image is not None:
            deps.append(str(post.share_image.path))
        view = blog.post_view(
            post,
            html=result.html,
            toc=result.toc,
            summary=summary,
            assets=assets,
            site=self.site,
            pictures=pictures,
            share=share,
            editions=editions,
        )
        page = blog.render_post_page(self.env, view, self.site)
        rendered = RenderedPost(
            post=post,
            view=view,
            markup=result,
            assets=assets,
            page=page,
            summary_given=post.summary is not None,
            deps=tuple(dict.fromkeys(deps)),
            links=tuple(dict.fromkeys(seen_links)),
            refused=tuple(dict.fromkeys(refused)),
            pictures=pictures,
        )
        if post.newsletter is not None:
            rendered.email = self.render_email(rendered, view_url=view_url, list_target=list_target)
        return rendered

    def _add_picture(
        self,
        path: Path,
        assets: dict[str, Asset],
        pictures: dict[str, Picture] | None,
        email_width: int = EMAIL_MAX,
    ) -> Asset:
        """The stripped master of a local image (``assets[str(path)]``) and, under
        further keys, its derivatives: every file a page or an email of it uses."""
        key = str(path)
        if key in assets and pictures is not None and assets[key].name in pictures:
            return assets[key]  # the same image twice (e.g. a hero also in the body)
        picture = self.images.picture(path, email_width=email_width)
        assets[key] = picture.master
        for a in picture.assets:
            if a.name != picture.master.name:
                assets.setdefault(f"{key}#{a.name}", a)
        if pictures is not None:
            pictures[picture.master.name] = picture
        return picture.master

    def _share_card(self, post: Post, hero: Path | None = None) -> Asset:
        """The post's 1200×630 social card (its ``share_image``, or one drawn over
        ``hero``: the hero's email file, already upright, stripped and small)."""
        share = post.share_image
        if share is not None and share.path.suffix.lower() != ".svg":
            return self.images.share_card(
                slug=post.slug, title=post.title, site_title=self.site.title, share_image=share.path
            )
        ev = post.event
        return self.images.share_card(
            slug=post.slug,
            title=post.title,
            site_title=self.site.title,
            event_name=ev.name if ev else "",
            event_when=i18n.format_when(ev.start, ev.end, post.lang) if ev and ev.start else "",
            event_place=ev.location if ev else "",
            hero=hero,
        )

    def render_email(
        self,
        rendered: RenderedPost,
        *,
        view_url: str | None = None,
        list_target: str | None = None,
        media: Mapping[str, str] | None = None,
    ) -> RenderedEmail:
        """The newsletter of a post; ``view_url`` is the CMS URL when it is known,
        ``media`` maps the site URL of an image to where the CMS serves it."""
        from .render.email import (
            LinkPolicy,
            render_newsletter,
            track_suffix_for,
            unsubscribe_for,
        )

        s = self.settings
        post, view, info = rendered.post, rendered.view, rendered.info
        assert post.newsletter is not None
        url = view_url or info.url
        own = tuple({s.site_url, _origin_path(url)})
        utm = s.utm.replace("{slug}", post.slug)
        return render_newsletter(
            self.env,
            post=view,
            site=self.site.for_lang(post.lang).context(),  # its language's home
            subject=post.newsletter.subject,
            preheader=post.newsletter.preheader or info.summary,
            view_url=url,
            unsubscribe_url=unsubscribe_for(list_target or s.list, s.unsubscribe_template),
            sender_name=s.sender_name,
            sender_email=s.from_email,
            links=LinkPolicy(
                page_url=url,
                site_url=s.site_url,
                own=own,
                utm=utm,
                media=media or {},
                images={
                    self.site.url_of(name): self.site.url_of(p.email.name)
                    for name, p in rendered.pictures.items()
                    if p.email is not None
                },
                track=track_suffix_for(list_target or s.list, s.listmonk_track_links == "on"),
            ),
            inliner=s.inliner,
        )

    def render_all(self, posts: list[Post], **kw: Any) -> list[RenderedPost]:
        by_source = {p.source.resolve(): p for p in posts}
        return [self.render_post(p, by_source, **kw) for p in posts]


class PostLinks:
    """Links from a post's body to other post files: the page each one resolves to
    (the edition in the linking post's language, by ``translation_key``) and the
    ``translation_key`` groups of the posts."""

    def __init__(self, site: blog.SiteInfo, posts_dir: Path, *, drafts: bool) -> None:
        self.site = site
        self.posts_dir = posts_dir
        self.drafts = drafts
        self._translations: tuple[Mapping[Path, PostLink], Translations] | None = None

    def translations(self, by_source: Mapping[Path, PostLink]) -> Translations:
        """The ``translation_key`` groups of these posts (computed once per mapping)."""
        if self._translations is None or self._translations[0] is not by_source:
            self._translations = (
                by_source,
                Translations.of(by_source.values(), drafts=self.drafts),
            )
        return self._translations[1]

    def href(
        self,
        post: Post,
        path: str,
        links: Mapping[Path, PostLink],
        seen_links: list[tuple[str, str | None]],
        refused: list[tuple[str, str, str]],
    ) -> str | None:
        """The href of the post file ``path`` (as written in ``post``), or None when it
        is no post or a draft not shown. What it read goes to ``seen_links`` (what makes
        a cached render stale); a path that breaks the path rule, to ``refused``."""
        source = _norm(post.source.parent / path)
        target = links.get(source)
        slug, draft = (target.slug, target.draft) if target is not None else (None, False)
        if slug is None or (draft and not self.drafts):
            seen_links.append((str(source), None))
            refusal = content_problem(source, self.posts_dir) if source.exists() else None
            if target is None and refusal is not None:
                refused.append((path, f"link '{path}' {refusal.reason}", _POST_LINK_HINT))
            return None
        assert target is not None
        seen_links.append((str(source), slug))
        lang = target.lang
        seen_links.append((f"lang:{source}", lang))
        key = target.translation_key
        if key:  # the edition in the linking post's language, when there is one
            index = self.translations(links)
            seen_links.append((f"group:{key}", index.signature(key)))
            same = index.in_language(key, post.lang)
            if same is not None:
                slug, lang = same.slug, same.lang
        return self.site.href(post_path(slug, lang, self.site.lang))


def post_files(r: RenderedPost) -> dict[str, FileContent]:
    """The page of one post and the files it uses, by path under ``site/``."""
    files: dict[str, FileContent] = {f"{r.path}index.html": r.page.encode()}
    for asset in r.assets.values():
        files[asset.name] = asset.source
    files.update(event_files(r))
    return files


def event_files(r: RenderedPost) -> dict[str, FileContent]:
    """``<slug>/event.ics`` of an invitation (DESIGN §7), else nothing."""
    from .render import calendar

    if not calendar.is_invitation(r.post):
        return {}
    event = calendar.CalendarEvent.of(r.post, r.info.url, r.info.summary)
    return {f"{r.path}{calendar.ICS_NAME}": calendar.ics(event)}


SPEAKER_PX = 2 * blog.SPEAKER_SHOWN  # a speaker photo's email file (and blog source): 96 px

_POST_LINK_HINT = (
    "link to a post file inside posts/, relative to this one, e.g. 2026-10-22-summit.md"
)


def _norm(path: Path) -> Path:
    """``a/b/../c`` → ``a/c`` without touching the disk (the site root is absolute
    already; ``Path.resolve`` per link and image was a tenth of a small rebuild)."""
    return Path(os.path.normpath(path))


def _origin_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
