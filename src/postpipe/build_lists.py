"""The site-wide files of the blog: lists, feeds, sitemap, 404 and static files.

``SiteLists`` renders what shows many posts at once (index, tag, category and
language pages, the Atom feeds, the sitemap) and the files every page shares;
the page of one post and its files are ``build.Builder`` and ``build.post_files``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .assets import Asset, make_asset
from .render import blog, i18n
from .render.templating import PACKAGE_TEMPLATES, render
from .translations import section

if TYPE_CHECKING:
    import jinja2

    from .build import FileContent, RenderedPost


def static_assets(root: Path) -> dict[str, Asset]:
    """The static files (the package's, then the site's ``templates/static/``), by path."""
    found: dict[str, Path] = {}
    for base in (PACKAGE_TEMPLATES / "static", root / "templates" / "static"):
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                if path.is_file():
                    found[path.relative_to(base).as_posix()] = path
    return {rel: make_asset(path, folder="static") for rel, path in found.items()}


class SiteLists:
    """The files of the blog that are not one post's, for one site and its templates."""

    def __init__(
        self, env: jinja2.Environment, site: blog.SiteInfo, static: Mapping[str, Asset]
    ) -> None:
        self.env = env
        self.site = site
        self.static = static

    def site_files(self, rendered: list[RenderedPost]) -> dict[str, FileContent]:
        """Every file of the blog for these posts, by path under ``site/``."""
        from .build import post_files  # here: build imports this module

        files: dict[str, FileContent] = {}
        for r in rendered:
            files.update(post_files(r))
        listed = [r.view for r in rendered if not r.info.draft]
        files.update(self.list_files([r.view for r in rendered], listed))
        return files

    def list_files(
        self, views: Sequence[Mapping[str, Any]], feed_views: Sequence[Mapping[str, Any]]
    ) -> dict[str, FileContent]:
        """Index, tag and category pages, feed, sitemap, 404 and static files.

        ``views`` need no ``html``; ``feed_views`` (the newest non-draft posts of
        each language) do. Each language other than the default has its pages
        and feed under ``<lang>/`` (DESIGN §7).
        """
        files: dict[str, FileContent] = {}
        listed = [v for v in views if not v["draft"]]
        for asset in self.static.values():
            files[asset.name] = asset.source
        homes: list[tuple[str, Any]] = []
        alternates: dict[str, list[dict[str, str]]] = {}
        groups = self.by_language(views)
        for lang, members in groups.items():
            site = self.site.for_lang(lang)
            langs = [k for k, posts in groups.items() if posts]  # their homes link each other
            home = blog.home_languages(site, langs)["alternates"]
            if home:  # in the sitemap as on the home page itself
                alternates[site.section] = home
            for path, html in blog.render_lists(self.env, members, site, langs).items():
                files[path] = html.encode()
            feed = [v for v in feed_views if section(v["lang"], self.site.lang) == site.section]
            files[f"{site.section}feed.xml"] = blog.atom_feed(feed[: blog.FEED_ENTRIES], site)
            newest = [v for v in members if not v["draft"]]
            homes.append((site.section, newest[0]["date"] if newest else None))
        entries: list[tuple[str, Any]] = homes[:1]
        entries += [(v.get("path") or f"{v['slug']}/", v["date"]) for v in listed]
        entries += homes[1:]
        terms = tuple(f"{sec}{kind}/" for sec, _ in homes for kind in ("tags", "categories"))
        entries += [
            (p.removesuffix("index.html"), None)
            for p in sorted(files)
            if p.startswith(terms) and p.endswith("index.html")
        ]
        alternates.update({v["path"]: v["alternates"] for v in listed if v.get("alternates")})
        files["sitemap.xml"] = blog.sitemap(entries, self.site, alternates)
        files["404.html"] = render(
            self.env,
            "blog/list.html",
            heading=i18n.labels(self.site.lang)["not_found"],
            posts=[],
            pagination={"page": 1, "pages": 1, "label": "", "prev_href": None, "next_href": None},
            **blog.page_context(self.site, self.site.lang, self.site.url + "/404.html", ""),
        ).encode()
        return files

    def by_language(self, views: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
        """The views per language section, the default language first (even with no posts)."""
        out: dict[str, list[Mapping[str, Any]]] = {self.site.lang: []}
        first: dict[str, str] = {"": self.site.lang}
        for v in views:
            lang = first.setdefault(section(v["lang"], self.site.lang), v["lang"])
            out.setdefault(lang, []).append(v)
        return out
