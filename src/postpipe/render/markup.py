"""Markdown → HTML with the fixed extension list; no I/O beyond image headers.

One ``Markdown`` instance is reused (``reset()`` between posts). A tree
processor resolves local images and links to other posts, so the body HTML
carries fingerprinted asset URLs and post URLs, and the checks learn about
missing images, missing alt text and broken links.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import InlineProcessor, Treeprocessor

from ..assets import Asset

EXTENSIONS = ["extra", "toc", "sane_lists", "smarty"]  # as Markup builds them below
EXTENSION_CONFIGS = {"toc": {"toc_depth": "2-3"}}

_EXTERNAL = re.compile(r"^([a-z][a-z0-9+.-]*:|//|#)", re.I)


@dataclass
class Resolver:
    """How the tree processor turns local references into site URLs."""

    image: Callable[[str], Asset | None]  # a src from the Markdown → the copied asset
    post: Callable[[str], str | None]  # a link to another .md file → its site-relative href
    asset_href: Callable[[Asset], str]


@dataclass
class MarkupResult:
    html: str
    toc: list[dict]
    images: list[tuple[str, Asset | None, str]] = field(default_factory=list)  # (src, asset, alt)
    broken_links: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


class _LocalRefs(Treeprocessor):
    def run(self, root: ET.Element) -> None:
        ext: _PostpipeExtension = self.ext  # type: ignore[attr-defined]
        resolver = ext.resolver
        for el in root.iter():
            if el.tag == "img":
                src = el.get("src", "")
                alt = el.get("alt", "")
                if _EXTERNAL.match(src) or resolver is None:
                    ext.images.append((src, None, alt))
                    continue
                asset = resolver.image(src)
                ext.images.append((src, asset, alt))
                if asset is not None:
                    el.set("src", resolver.asset_href(asset))
                    if asset.size and "width" not in el.attrib:
                        el.set("width", str(asset.size[0]))
                        el.set("height", str(asset.size[1]))
                    el.set("loading", "lazy")
            elif el.tag == "a":
                href = el.get("href", "")
                ext.links.append(href)
                if resolver is None or _EXTERNAL.match(href):
                    continue
                path, _, fragment = href.partition("#")
                if path.endswith(".md"):
                    target = resolver.post(path)
                    if target is None:
                        ext.broken.append(href)
                    else:
                        el.set("href", target + (f"#{fragment}" if fragment else ""))


class _PostpipeExtension(Extension):
    def __init__(self) -> None:
        super().__init__()
        self.resolver: Resolver | None = None
        self.images: list[tuple[str, Asset | None, str]] = []
        self.links: list[str] = []
        self.broken: list[str] = []

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's API)
        proc = _LocalRefs(md)
        proc.ext = self  # type: ignore[attr-defined]
        # after 'inline' (20), which creates <img> and <a>
        md.treeprocessors.register(proc, "postpipe_refs", 6)

    def reset(self) -> None:
        self.images, self.links, self.broken = [], [], []


# Every smarty pattern needs a quote, "--" or "...": text without them is left as is.
_SMARTY_TRIGGER = re.compile(r"['\"]|--|\.\.\.")


class _QuickSmarty(InlineProcessor):
    """smarty's own pass, skipping the text that none of its patterns can match.

    smarty runs 18 patterns over every text node after the main inline pass, half
    the cost of a post; most text has no quote, dash pair or ellipsis. The
    output is the same by construction (a golden test compares it).
    """

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:  # noqa: N802,N803
        if patternIndex == 0 and not _SMARTY_TRIGGER.search(data):
            return data
        return super()._InlineProcessor__handleInline(data, patternIndex)  # type: ignore[misc]


class Markup:
    """A reusable Markdown converter (one per process)."""

    def __init__(self) -> None:
        self._ext = _PostpipeExtension()
        # extension objects, not names: names are looked up through the installed
        # packages' entry points, which costs more than the rest of the set-up
        from markdown.extensions import extra, sane_lists, smarty, toc

        self._md = markdown.Markdown(
            extensions=[
                extra.ExtraExtension(),
                toc.TocExtension(**EXTENSION_CONFIGS["toc"]),
                sane_lists.SaneListExtension(),
                smarty.SmartyExtension(),
                self._ext,
            ],
            output_format="html",
        )
        smarty = self._md.treeprocessors["smarty"]
        quick = _QuickSmarty(self._md)
        quick.inlinePatterns = smarty.inlinePatterns  # type: ignore[attr-defined]
        self._md.treeprocessors.register(quick, "smarty", 6)

    def convert(self, text: str, resolver: Resolver | None = None) -> MarkupResult:
        md = self._md
        md.reset()
        self._ext.reset()  # not registered with Markdown, so md.reset() skips it
        self._ext.resolver = resolver
        html = md.convert(text)
        toc = _toc(getattr(md, "toc_tokens", []))
        result = MarkupResult(
            html=html,
            toc=toc,
            images=list(self._ext.images),
            broken_links=list(self._ext.broken),
            links=list(self._ext.links),
        )
        self._ext.resolver = None
        return result


def _toc(tokens: list[dict]) -> list[dict]:
    return [
        {"id": t["id"], "name": _plain(t["name"]), "children": _toc(t.get("children", []))}
        for t in tokens
    ]


def _plain(html: str) -> str:
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip()


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


class _FirstParagraph(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0  # nesting of block containers we skip (blockquote, lists, tables)
        self.in_p = False
        self.done = False
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:  # type: ignore[type-arg]
        if self.done:
            return
        if tag in ("blockquote", "ul", "ol", "table", "div", "dl", "figure", "pre", "sup"):
            self.depth += 1
        elif tag == "p" and self.depth == 0:
            self.in_p = True

    def handle_endtag(self, tag: str) -> None:
        if self.done:
            return
        if tag in ("blockquote", "ul", "ol", "table", "div", "dl", "figure", "pre", "sup"):
            self.depth -= 1
        elif tag == "p" and self.in_p:
            self.in_p = False
            if "".join(self.parts).strip():
                self.done = True
            else:
                self.parts = []

    def handle_data(self, data: str) -> None:
        if self.in_p and self.depth == 0 and not self.done:
            self.parts.append(data)


def first_paragraph(html: str, limit: int = 300) -> str:
    """Plain text of the first top-level paragraph, at most ``limit`` characters."""
    parser = _FirstParagraph()
    parser.feed(html)
    parser.close()
    text = " ".join("".join(parser.parts).split())
    if len(text) > limit:
        cut = text[: limit - 1].rsplit(" ", 1)[0]
        text = cut.rstrip(",;:.– ") + "…"
    return text
