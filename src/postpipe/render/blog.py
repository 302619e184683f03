"""The blog: post pages, index and taxonomy pages, Atom feed and sitemap."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html import escape as html_escape
from html import unescape as html_unescape
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ..assets import Asset
from ..content import Post, term_slug
from ..translations import Edition, original, post_path
from ..translations import section as section_of
from . import calendar, i18n
from .images import BLOG_WIDTHS, Picture
from .links import absolutize_html
from .sanitize import sanitize
from .templating import render

if TYPE_CHECKING:
    import jinja2

PER_PAGE = 10
FEED_ENTRIES = 20


@dataclass(frozen=True)
class SiteInfo:
    """What every page knows about the site."""

    title: str
    url: str  # absolute, no trailing slash
    base_path: str  # "" or "/sub"
    lang: str
    author: str
    css_href: str
    #: the pages of a language other than the default live under ``<lang>/`` (DESIGN §7)
    section: str = ""
    default_lang: str = ""

    def for_lang(self, lang: str) -> SiteInfo:
        """The site as the pages of ``lang`` see it (home, feed, tag pages)."""
        default = self.default_lang or self.lang
        return replace(self, lang=lang, section=section_of(lang, default), default_lang=default)

    def post_path(self, slug: str, lang: str) -> str:
        """A post's folder: ``slug/`` in the default language, else ``<lang>/slug/``."""
        return post_path(slug, lang, self.default_lang or self.lang)

    @property
    def home_href(self) -> str:
        return f"{self.base_path}/{self.section}"

    @property
    def home_url(self) -> str:
        """The absolute URL of the language's home (the site URL itself for the
        default language, as it always was; ``…/sv/`` for another)."""
        return f"{self.url}/{self.section}" if self.section else self.url

    @property
    def feed_url(self) -> str:
        return f"{self.url}/{self.section}feed.xml"

    def href(self, path: str) -> str:
        """Site-relative link to an output path (``slug/`` → ``/slug/``)."""
        return f"{self.base_path}/{path}"

    def url_of(self, path: str) -> str:
        return f"{self.url}/{path}"

    def context(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "url": self.url,
            "home_href": self.home_href,
            "home_url": self.home_url,
            "css_href": self.css_href,
            "feed_url": self.feed_url,
            "lang": self.lang,
        }


def tag_path(name: str) -> str:
    return f"tags/{term_slug(name)}/"


def category_path(name: str) -> str:
    return f"categories/{term_slug(name)}/"


def _terms(
    names: Iterable[str], path_of: Callable[[str], str], site: SiteInfo
) -> list[dict[str, str]]:
    """One chip per page: names that share a page (``C``, ``c``) appear once."""
    seen: dict[str, dict[str, str]] = {}
    for name in names:
        path = path_of(name)
        seen.setdefault(path, {"name": name, "href": site.href(site.section + path)})
    return list(seen.values())


#: how wide a picture in the post column is shown (the column is 40rem)
COLUMN_SIZES = "(max-width: 40rem) 100vw, 40rem"
#: how a list page shows a post's hero (style.css ``.card-thumb``): 9rem wide at 4:3,
#: 5rem square on narrow screens
THUMB_SIZES = "(max-width: 30rem) 5rem, 9rem"
THUMB_SHOWN = (144, 108)
#: the widest derivative a thumbnail loads: the smallest blog width (3× of 9rem)
THUMB_MAX = BLOG_WIDTHS[0]
#: how wide a speaker photo is shown (style.css ``.speaker-photo``); its source is
#: the photo's email file, twice that
SPEAKER_SHOWN = 48


def image_view(
    asset: Asset | None,
    alt: str,
    site: SiteInfo,
    picture: Picture | None = None,
    sizes: str = COLUMN_SIZES,
) -> dict[str, Any] | None:
    """An image for the templates: ``src``/``url`` of the stripped master, and with
    derivatives ``srcset``/``webp_srcset``/``sizes`` for a ``<picture>``."""
    if asset is None:
        return None
    view: dict[str, Any] = {
        "src": site.href(asset.name),
        "url": site.url_of(asset.name),
        "alt": alt,
        "width": asset.width,
        "height": asset.height,
        "srcset": "",
        "webp_srcset": "",
        "sizes": "",
        "thumb": site.href(asset.name),
    }
    if picture is not None and picture.webp:
        view["srcset"] = srcset(picture.fallback, site)
        view["webp_srcset"] = srcset(picture.webp, site)
        view["sizes"] = sizes
    if picture is not None and picture.email is not None:
        view["thumb"] = site.href(picture.email.name)
    return view


def thumbnail_view(asset: Asset, site: SiteInfo, picture: Picture | None = None) -> dict[str, Any]:
    """How a list page shows a post's hero, for a ``<picture>``: the derivatives no
    wider than :data:`THUMB_MAX` (the smallest one when there are none), never
    the master, with ``sizes`` of the CSS box and ``width``/``height`` of what is
    shown (:data:`THUMB_SHOWN`). An image without derivatives (SVG, animated GIF)
    keeps its one file."""
    view: dict[str, Any] = {
        "src": site.href(asset.name),
        "srcset": "",
        "webp_srcset": "",
        "sizes": "",
        "width": THUMB_SHOWN[0],
        "height": THUMB_SHOWN[1],
    }
    if picture is not None and picture.webp:
        fallback = _smallest(picture.fallback)
        view["src"] = site.href(fallback[0].name)
        view["srcset"] = srcset(fallback, site)
        view["webp_srcset"] = srcset(_smallest(picture.webp), site)
        view["sizes"] = THUMB_SIZES
    return view


def _smallest(assets: tuple[Asset, ...]) -> tuple[Asset, ...]:
    small = tuple(a for a in assets if (a.width or 0) <= THUMB_MAX)
    return small or assets[:1]


def speaker_photo_view(
    asset: Asset | None, alt: str, site: SiteInfo, picture: Picture | None = None
) -> dict[str, Any] | None:
    """A speaker photo: :func:`image_view`, plus ``thumbnail`` as the page shows it:
    the email file (twice :data:`SPEAKER_SHOWN` wide) at :data:`SPEAKER_SHOWN` px
    wide, its height in the photo's aspect ratio."""
    view = image_view(asset, alt, site, picture)
    if view is None:
        return None
    w, h = asset.size if asset is not None and asset.size else (1, 1)
    view["thumbnail"] = {
        "src": view["thumb"],
        "srcset": "",
        "webp_srcset": "",
        "sizes": "",
        "width": SPEAKER_SHOWN,
        "height": max(1, round(SPEAKER_SHOWN * h / w)),
    }
    return view


def srcset(assets: Iterable[Asset], site: SiteInfo) -> str:
    return ", ".join(f"{site.href(a.name)} {a.width}w" for a in assets)


_IMG = re.compile(r"<img\b[^>]*>")
_SRC = re.compile(r'\ssrc="([^"]*)"')


def picture_html(html: str, pictures: Mapping[str, Picture], site: SiteInfo) -> str:
    """The body for the blog page: each local image becomes a ``<picture>`` with a
    WebP ``srcset`` and the fallback's, lazily loaded (the CMS and the email get
    the body with plain ``<img>`` tags)."""
    by_href = {site.href(name): p for name, p in pictures.items() if p.webp}
    if not by_href:
        return html

    def one(match: re.Match[str]) -> str:
        tag = match.group(0)
        src = _SRC.search(tag)
        picture = by_href.get(html_unescape(src.group(1))) if src else None
        if picture is None or "srcset=" in tag:
            return tag
        extra = f' srcset="{html_escape(srcset(picture.fallback, site))}" sizes="{COLUMN_SIZES}"'
        if "loading=" not in tag:
            extra += ' loading="lazy" decoding="async"'
        end = -2 if tag.endswith("/>") else -1
        img = tag[:end].rstrip() + extra + ">"
        webp = html_escape(srcset(picture.webp, site))
        return (
            f'<picture><source type="image/webp" srcset="{webp}" sizes="{COLUMN_SIZES}">'
            f"{img}</picture>"
        )

    return _IMG.sub(one, html)


@dataclass(frozen=True)
class PostView:
    """What Python code reads of a post's view (the templates get the whole mapping
    of :func:`post_view`; code reads these typed fields instead of keys)."""

    slug: str
    title: str
    url: str
    href: str
    summary: str
    date: datetime
    draft: bool
    lang: str
    author: str

    @classmethod
    def of(cls, view: Mapping[str, Any]) -> PostView:
        return cls(
            slug=str(view["slug"]),
            title=str(view["title"]),
            url=str(view["url"]),
            href=str(view["href"]),
            summary=str(view["summary"]),
            date=view["date"],
            draft=bool(view["draft"]),
            lang=str(view["lang"]),
            author=str(view["author"]),
        )


def post_view(
    post: Post,
    *,
    html: str,
    toc: list[dict],
    summary: str,
    assets: Mapping[str, Asset],
    site: SiteInfo,
    pictures: Mapping[str, Picture] | None = None,
    share: Asset | None = None,
    editions: tuple[Edition, ...] = (),
) -> dict[str, Any]:
    """Everything the templates know about one post (see README, Templates).

    ``editions`` are the post's translations (itself included), for hreflang
    links, the language switch and the JSON-LD."""
    pictures = pictures or {}
    site = site.for_lang(post.lang)

    def pic(a: Asset | None) -> Picture | None:
        return pictures.get(a.name) if a is not None else None

    path = site.post_path(post.slug, post.lang)
    hero = assets.get(str(post.image.path)) if post.image else None
    event = None
    if post.event:
        ev = post.event
        event = {
            "name": ev.name,
            "url": ev.url or None,
            "when": i18n.format_when(ev.start, ev.end, post.lang),
            "start_iso": ev.start.isoformat() if ev.start else None,
            "end_iso": ev.end.isoformat() if ev.end else None,
            "location": ev.location,
            "organisers": list(ev.organisers),
        }
    sections = speaker_sections([s.name for s in post.speakers], toc)
    speakers = [
        {
            "name": s.name,
            "talk": s.talk,
            "affiliation": s.affiliation,
            "role": s.role,
            "url": s.url,
            "url_label": _url_label(s.url),
            "section_href": f"#{sections[s.name]}" if s.name in sections else None,
            "photo": speaker_photo_view(
                assets.get(str(s.photo.path)) if s.photo else None,
                s.photo.alt if s.photo else "",
                site,
                pic(assets.get(str(s.photo.path)) if s.photo else None),
            ),
        }
        for s in post.speakers
    ]
    image = image_view(hero, post.image.alt if post.image else "", site, pic(hero))
    if image is not None and hero is not None:  # what the list pages show
        image["thumbnail"] = thumbnail_view(hero, site, pic(hero))
    view: dict[str, Any] = {
        "title": post.title,
        "slug": post.slug,
        "path": path,
        "url": site.url_of(path),
        "href": site.href(path),
        "lang": post.lang,
        "author": post.author,
        "summary": summary,
        "date": post.date,
        "date_iso": post.date.isoformat(),
        "date_display": i18n.format_date(post.date, post.lang),
        "draft": post.draft,
        "tags": _terms(post.tags, tag_path, site),
        "categories": _terms(post.categories, category_path, site),
        "html": Markup(html),
        "page_html": Markup(picture_html(html, pictures, site)),
        "toc": toc,
        "image": image,
        "share": {
            "url": site.url_of(share.name),
            "width": share.width,
            "height": share.height,
            "alt": post.image.alt if post.image and not post.share_image else "",
        }
        if share is not None
        else None,
        "event": event,
        "speakers": speakers,
    }
    view.update(translation_view(post, editions, site))
    view["calendar"] = None
    if calendar.is_invitation(post):
        ics_path = f"{path}{calendar.ICS_NAME}"
        event_of = calendar.CalendarEvent.of(post, view["url"], summary)
        view["calendar"] = calendar.links(event_of, site.href(ics_path), site.url_of(ics_path))
    view["jsonld"] = Markup(_json_for_script(jsonld(post, view, site, editions)))
    return view


def translation_view(post: Post, editions: tuple[Edition, ...], site: SiteInfo) -> dict[str, Any]:
    """``translations`` (the other editions, for the language switch), ``alternates``
    (every edition and ``x-default``, for ``<link rel="alternate" hreflang>``) and
    ``translation_key``. A post without translations gets empty lists."""
    out: dict[str, Any] = {
        "translation_key": post.translation_key,
        "translations": [],
        "alternates": [],
    }
    if len(editions) < 2:
        return out
    for e in editions:
        path = site.post_path(e.slug, e.lang)
        out["alternates"].append({"hreflang": e.lang, "url": site.url_of(path)})
        if e.slug != post.slug:
            out["translations"].append(
                {
                    "lang": e.lang,
                    "slug": e.slug,
                    "href": site.href(path),
                    "url": site.url_of(path),
                    "label": i18n.labels(e.lang)["read_in"],
                    "name": i18n.language_name(e.lang),
                    "locale": i18n.og_locale(e.lang),
                }
            )
    first = original(editions, site.default_lang or site.lang)
    if first is not None:
        url = site.url_of(site.post_path(first.slug, first.lang))
        out["alternates"].append({"hreflang": "x-default", "url": url})
    return out


def speaker_sections(names: Iterable[str], toc: list[dict]) -> dict[str, str]:
    """The id of the first body heading (``toc``) that names each speaker."""
    flat: list[dict] = []

    def walk(items: list[dict]) -> None:
        for item in items:
            flat.append(item)
            walk(item.get("children", []))

    walk(toc)
    found: dict[str, str] = {}
    for name in names:
        needle = " ".join(name.split()).casefold()
        for item in flat:
            if needle and needle in " ".join(str(item["name"]).split()).casefold():
                found[name] = str(item["id"])
                break
    return found


def _url_label(url: str) -> str:
    """``https://www.example.org/people/ann/`` → ``example.org/people/ann``."""
    if not url:
        return ""
    label = url.split("://", 1)[-1].removeprefix("www.").rstrip("/")
    return label


def jsonld(
    post: Post, view: Mapping[str, Any], site: SiteInfo, editions: tuple[Edition, ...] = ()
) -> dict[str, Any]:
    """Schema.org ``BlogPosting``, plus an ``Event`` when the post has one; the
    original edition lists its ``workTranslation``s, a translation its
    ``translationOfWork``."""
    author = (
        {"@type": "Person", "name": post.author}
        if post.author
        else {"@type": "Organization", "name": site.title}
    )
    posting: dict[str, Any] = {
        "@type": "BlogPosting",
        "@id": view["url"] + "#post",
        "headline": post.title,
        "url": view["url"],
        "mainEntityOfPage": view["url"],
        "datePublished": post.date.isoformat(),
        "dateModified": post.date.isoformat(),
        "inLanguage": post.lang,
        "author": author,
        "description": view["summary"],
        "publisher": {"@type": "Organization", "name": site.title, "url": site.url + "/"},
    }
    if len(editions) > 1:
        first = original(editions, site.default_lang or site.lang)

        def ref(e: Edition) -> dict[str, str]:
            return {"@id": site.url_of(site.post_path(e.slug, e.lang)) + "#post"}

        if first is not None and first.slug == post.slug:
            posting["workTranslation"] = [ref(e) for e in editions if e.slug != post.slug]
        elif first is not None:
            posting["translationOfWork"] = ref(first)
    if post.tags:
        posting["keywords"] = ", ".join(post.tags)
    if view["image"]:
        posting["image"] = view["image"]["url"]
    elif view.get("share"):
        posting["image"] = view["share"]["url"]
    if not post.event:
        return {"@context": "https://schema.org", **posting}
    ev = post.event
    if ev.start is None:
        return {"@context": "https://schema.org", **posting}  # no Event without a startDate
    event: dict[str, Any] = {
        "@type": "Event",
        "@id": view["url"] + "#event",
        "name": ev.name,
        "startDate": ev.start.isoformat(),
        "eventStatus": "https://schema.org/EventScheduled",
        "url": ev.url or view["url"],
        "description": view["summary"],
    }
    if ev.end:
        event["endDate"] = ev.end.isoformat()
    if ev.location:
        event["eventAttendanceMode"] = "https://schema.org/OfflineEventAttendanceMode"
        event["location"] = {
            "@type": "Place",
            "name": ev.location.split(",")[0].strip(),
            "address": ev.location,
        }
    elif ev.url:
        event["eventAttendanceMode"] = "https://schema.org/OnlineEventAttendanceMode"
        event["location"] = {"@type": "VirtualLocation", "url": ev.url}
    if view["image"]:
        event["image"] = view["image"]["url"]
    if ev.organisers:
        event["organizer"] = [{"@type": "Organization", "name": o} for o in ev.organisers]
    if post.speakers:
        event["performer"] = [_person(s.name, s.affiliation, s.url) for s in post.speakers]
    posting["about"] = {"@id": event["@id"]}
    return {"@context": "https://schema.org", "@graph": [posting, event]}


def _person(name: str, affiliation: str, url: str) -> dict[str, Any]:
    person: dict[str, Any] = {"@type": "Person", "name": name}
    if affiliation:
        person["affiliation"] = {"@type": "Organization", "name": affiliation}
    if url:
        person["url"] = url
    return person


def _json_for_script(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, indent=2)
    # never let the data close the <script> element
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_context(site: SiteInfo, lang: str, canonical: str, description: str) -> dict[str, Any]:
    """What every page template gets. ``locale`` is the page's ``og:locale``;
    ``alternates`` and ``translations`` are the page's versions in other
    languages (filled on the language home pages, see :func:`home_languages`)."""
    return {
        "site": site.context(),
        "lang": lang,
        "locale": i18n.og_locale(lang),
        "canonical": canonical,
        "description": description,
        "t": i18n.labels(lang),
        "alternates": [],
        "translations": [],
    }


def render_post_page(env: jinja2.Environment, view: Mapping[str, Any], site: SiteInfo) -> str:
    site = site.for_lang(view["lang"])  # home and feed links of the post's language
    return render(
        env,
        "blog/post.html",
        post=view,
        **page_context(site, view["lang"], view["url"], view["summary"]),
    )


def home_languages(site: SiteInfo, languages: Iterable[str]) -> dict[str, Any]:
    """How the home page of ``site.lang`` links the homes of the other ``languages``
    (those with posts): ``alternates`` (absolute ``hreflang`` URLs of every home,
    plus ``x-default``: the default language's home) and ``translations`` (the
    visible switch). Nothing on a site with posts in one language only."""
    default = site.default_lang or site.lang
    langs = sorted(set(languages))
    if len(langs) < 2 or site.lang not in langs:
        return {"alternates": [], "translations": []}
    # each home as an edition whose slug is its path ("" or "sv/")
    homes = [Edition("", lang, section_of(lang, default)) for lang in langs]
    alternates = [{"hreflang": e.lang, "url": site.url_of(e.slug)} for e in homes]
    first = original(homes, default)
    if first is not None:
        alternates.append({"hreflang": "x-default", "url": site.url_of(first.slug)})
    translations = [
        {
            "lang": e.lang,
            "href": site.href(e.slug),
            "url": site.url_of(e.slug),
            "label": i18n.labels(e.lang)["read_in"],
            "name": i18n.language_name(e.lang),
            "locale": i18n.og_locale(e.lang),
        }
        for e in homes
        if e.lang != site.lang
    ]
    return {"alternates": alternates, "translations": translations}


def render_lists(
    env: jinja2.Environment,
    views: list[Mapping[str, Any]],
    site: SiteInfo,
    languages: Iterable[str] = (),
) -> dict[str, str]:
    """Index pages (``index.html``, ``page/N/``) and one page per tag and category.

    ``languages`` are the site's languages that have posts: with two or more, the
    home pages link each other (:func:`home_languages`)."""
    t = i18n.labels(site.lang)
    home = home_languages(site, languages)
    out = _paginate(env, views, site, site.section, t["latest"], site.title, home)
    groups: dict[str, tuple[str, str, list[Mapping[str, Any]]]] = {}
    for v in views:
        # a post is listed once per page, however many of its names lead there
        for terms, path_of, label in (
            (v["tags"], tag_path, "tagged"),
            (v["categories"], category_path, "in_category"),
        ):
            pages: dict[str, str] = {}
            for term in terms:
                pages.setdefault(path_of(term["name"]), term["name"])
            for path, name in pages.items():
                groups.setdefault(path, (name, label, []))[2].append(v)
    for path, (name, label, members) in sorted(groups.items()):
        heading = t[label].format(name=name)
        out.update(_paginate(env, members, site, site.section + path, heading, heading))
    return out


def _paginate(
    env: jinja2.Environment,
    views: list[Mapping[str, Any]],
    site: SiteInfo,
    prefix: str,
    heading: str,
    description: str,
    home: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The pages of one list; ``home`` (:func:`home_languages`) links the other
    languages: the switch on every page, the ``hreflang`` alternates on the first
    (page N of one language is no translation of page N of another)."""
    t = i18n.labels(site.lang)
    pages = max(1, math.ceil(len(views) / PER_PAGE))
    out: dict[str, str] = {}

    def path_of(n: int) -> str:
        return prefix if n == 1 else f"{prefix}page/{n}/"

    for n in range(1, pages + 1):
        chunk = views[(n - 1) * PER_PAGE : n * PER_PAGE]
        pagination = {
            "page": n,
            "pages": pages,
            "label": t["page_of"].format(page=n, pages=pages),
            "prev_href": site.href(path_of(n - 1)) if n > 1 else None,
            "next_href": site.href(path_of(n + 1)) if n < pages else None,
        }
        context = page_context(site, site.lang, site.url_of(path_of(n)), description)
        if home:
            context["translations"] = home["translations"]
            context["alternates"] = home["alternates"] if n == 1 else []
        html = render(
            env, "blog/list.html", heading=heading, posts=chunk, pagination=pagination, **context
        )
        out[path_of(n) + "index.html"] = html
    return out


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


ATOM = "http://www.w3.org/2005/Atom"


def atom_feed(views: list[Mapping[str, Any]], site: SiteInfo) -> bytes:
    """Atom 1.0 with absolute URLs, newest first."""
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": site.lang})
    sub(feed, "id", f"{site.url}/{site.section}")
    sub(feed, "title", site.title)
    updated = max((v["date"] for v in views), default=None)
    sub(feed, "updated", _utc(updated) if updated else "1970-01-01T00:00:00Z")
    sub(feed, "link", href=site.feed_url, rel="self", type="application/atom+xml")
    sub(feed, "link", href=f"{site.url}/{site.section}", rel="alternate", type="text/html")
    sub(sub(feed, "author"), "name", site.author or site.title)
    sub(feed, "generator", "postpipe")
    for v in views[:FEED_ENTRIES]:
        entry = sub(feed, "entry")
        sub(entry, "id", v["url"])
        sub(entry, "title", v["title"])
        sub(entry, "link", href=v["url"], rel="alternate", type="text/html")
        sub(entry, "published", _utc(v["date"]))
        sub(entry, "updated", _utc(v["date"]))
        sub(sub(entry, "author"), "name", v["author"] or site.author or site.title)
        for c in [*v["categories"], *v["tags"]]:
            sub(entry, "category", term=c["name"])
        sub(entry, "summary", v["summary"], type="text")
        # the page keeps what the author wrote; feed readers get no scripts
        body = absolutize_html(sanitize(str(v["html"])), v["url"], site.url)
        sub(entry, "content", body, type="html")
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML = "http://www.w3.org/1999/xhtml"


def sitemap(
    entries: Iterable[tuple[str, datetime | None]],
    site: SiteInfo,
    alternates: Mapping[str, list[dict[str, str]]] | None = None,
) -> bytes:
    """``sitemap.xml`` for (site-relative path, last modified) pairs; ``alternates``
    (path → the page's ``hreflang``/``url`` pairs) become ``xhtml:link`` elements."""
    ET.register_namespace("", SITEMAP)
    ET.register_namespace("xhtml", XHTML)
    alternates = alternates or {}
    urlset = ET.Element(f"{{{SITEMAP}}}urlset")
    for path, modified in entries:
        url = ET.SubElement(urlset, f"{{{SITEMAP}}}url")
        ET.SubElement(url, f"{{{SITEMAP}}}loc").text = site.url_of(path)
        if modified is not None:
            ET.SubElement(url, f"{{{SITEMAP}}}lastmod").text = _utc(modified)
        for alt in alternates.get(path, ()):
            ET.SubElement(
                url,
                f"{{{XHTML}}}link",
                {"rel": "alternate", "hreflang": alt["hreflang"], "href": alt["url"]},
            )
    ET.indent(urlset)
    return ET.tostring(urlset, encoding="utf-8", xml_declaration=True) + b"\n"
