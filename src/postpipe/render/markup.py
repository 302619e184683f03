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
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import InlineProcessor, Treeprocessor

from ..assets import Asset

EXTENSION_CONFIGS = {"toc": {"toc_depth": "2-3"}}

#: Quotation marks per language, as smarty substitutions (left/right double,
#: left/right single). A language that is not here gets English marks; add a
#: row to teach postpipe another one. smarty writes an apostrophe (it's) with the
#: right single mark, so a language whose closing single mark is not ’ (de, da)
#: needs more than a row.
QUOTES: dict[str, tuple[str, str, str, str]] = {
    "en": ("&ldquo;", "&rdquo;", "&lsquo;", "&rsquo;"),  # “…” ‘…’
    "sv": ("&rdquo;", "&rdquo;", "&rsquo;", "&rsquo;"),  # ”…” ’…’
    "fi": ("&rdquo;", "&rdquo;", "&rsquo;", "&rsquo;"),  # ”…” ’…’
    "nb": ("&laquo;", "&raquo;", "&lsquo;", "&rsquo;"),  # «…» ‘…’
    "nn": ("&laquo;", "&raquo;", "&lsquo;", "&rsquo;"),
    "no": ("&laquo;", "&raquo;", "&lsquo;", "&rsquo;"),
}


def quote_lang(lang: str) -> str:
    """The row of :data:`QUOTES` for a post language (``sv-FI`` → ``sv``)."""
    base = lang.split("-")[0].lower()
    return base if base in QUOTES else "en"


def smarty_substitutions(lang: str) -> dict[str, str]:
    ldquo, rdquo, lsquo, rsquo = QUOTES[quote_lang(lang)]
    return {
        "left-double-quote": ldquo,
        "right-double-quote": rdquo,
        "left-single-quote": lsquo,
        "right-single-quote": rsquo,
    }


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
                if href.startswith("http://www.") and el.text == href[7:]:
                    href = "https://" + href[7:]  # a bare www. address (magiclink)
                    el.set("href", href)
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


_MARKER = re.compile(r"^( *)([*+-]|\d{1,9}\.)( +)(?=\S)")
_RULE = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")


_QUOTE = re.compile(r"^ {0,3}> ?")
_FENCE = re.compile(r"^(`{3,}|~{3,})")
_LAZY = re.compile(r"^ {0,3}[\w(\"'“‘«”’]")


class _Lists(Preprocessor):
    """Lists as people type them (the CommonMark rules where Python-Markdown is
    stricter): a bullet list (or one starting at ``1.``) may follow a paragraph
    line with no blank line between, and a nested list may be indented by 2
    spaces (or 3, or 4). Nested items and their continuation lines are
    re-indented to Python-Markdown's 4 spaces per level; the rest is untouched.
    The same inside ``>`` blockquotes (at any depth), whose lines are read without
    their ``>`` and written back with ``> ``.
    Runs after fenced code and raw HTML are stashed, so neither is touched."""

    def run(self, lines: list[str]) -> list[str]:
        return self._run(lines, quoted=False)

    def _run(self, lines: list[str], quoted: bool) -> list[str]:
        out: list[str] = []
        stack: list[tuple[int, int]] = []  # open items: (marker indent, content column)
        prev = ""  # the previous line as written ("" when blank)
        fence = ""  # a fence in a quote is not stashed (nor code): leave it as it is
        i = 0
        while i < len(lines):
            line = lines[i]
            i += 1
            opening = _FENCE.match(line) if quoted and not stack and not fence else None
            if fence or opening:
                if opening:
                    fence = opening.group(1)
                elif line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                    fence = ""  # the closing fence: as long or longer, nothing else
                out.append(line)
                prev = line
                continue
            if not line.strip():
                out.append(line)
                prev = ""
                continue
            indent = len(line) - len(line.lstrip(" "))
            if _QUOTE.match(line) and (not stack or (not prev and indent < stack[0][0] + 2)):
                stack.clear()  # a quote at the margin after a blank line ends a list
                start = i - 1
                while i < len(lines) and (_QUOTE.match(lines[i]) or _lazy(lines[i])):
                    i += 1
                out.extend(self._quote(lines[start:i]))
                prev = lines[i - 1]
                continue
            m = _MARKER.match(line)
            if m and _RULE.match(line):
                m = None
            if m:
                marker = m.group(2)
                if not stack:
                    if indent > 3 or (prev and not _can_interrupt(marker)):
                        out.append(line)  # code, or a number that starts a text line
                        prev = line
                        continue
                    if prev:
                        out.append("")  # the list interrupts the paragraph
                while stack and indent < stack[-1][0] + 2:
                    stack.pop()
                content = indent + len(marker) + min(len(m.group(3)), 4)
                out.append(" " * (4 * len(stack)) + line[indent:])
                stack.append((indent, content))
            elif stack and not prev and indent < stack[0][0] + 2:
                stack.clear()  # a blank line and a line at the margin: the list is over
                out.append(line)
            elif stack and indent >= stack[0][0] + 2:
                # a continuation line of the deepest item it is indented under
                level = len(stack)
                while level > 1 and indent < stack[level - 1][0] + 2:
                    level -= 1
                if not prev:
                    del stack[level:]
                extra = max(0, indent - stack[level - 1][1])
                pad = " " * (4 * level + extra)
                if not prev and extra < 4 and _QUOTE.match(line[indent:]):  # a quote block
                    start = i - 1
                    while i < len(lines) and _quoted_at(lines[i], indent):
                        i += 1
                    out.extend(pad + q for q in self._quote([q[indent:] for q in lines[start:i]]))
                    prev = lines[i - 1]
                    continue
                out.append(pad + line[indent:])
            else:
                out.append(line)  # a lazy continuation line, or text outside lists
            prev = line
        return out

    def _quote(self, lines: list[str]) -> list[str]:
        """A run of quote lines (and lazy lines): its content read by :meth:`run`."""
        inner = [_QUOTE.sub("", line, count=1) for line in lines]
        return [f"> {line}" if line.strip() else ">" for line in self._run(inner, quoted=True)]


def _quoted_at(line: str, indent: int) -> bool:
    """True for a quote line indented by exactly ``indent`` spaces."""
    return not line[:indent].strip() and line[indent : indent + 1] == ">"


def _lazy(line: str) -> bool:
    """True for a line that continues a quote's paragraph without its ``>``: text, not
    a list marker, rule, fence, heading, HTML or stashed block (those end the quote)."""
    return bool(_LAZY.match(line)) and not _MARKER.match(line) and not _RULE.match(line)


def _can_interrupt(marker: str) -> bool:
    """CommonMark: a bullet, or an ordered list that starts at 1, interrupts a paragraph."""
    return not marker[0].isdigit() or marker == "1."


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
        # after fenced code (25) and raw HTML (20) are stashed
        md.preprocessors.register(_Lists(md), "postpipe_lists", 15)
        # only the rules of DESIGN §1: web addresses, no mail addresses
        md.inlinePatterns.deregister("magic-mail", strict=False)

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


def extensions(lang: str = "en") -> list[Extension]:
    """The extension list of a post in ``lang`` (stock smarty; :class:`Markup` swaps
    in a quicker pass with the same output)."""
    # extension objects, not names: names are looked up through the installed
    # packages' entry points, which costs more than the rest of the set-up
    from markdown.extensions import extra, sane_lists, smarty, toc
    from pymdownx import magiclink, saneheaders

    return [
        extra.ExtraExtension(),
        toc.TocExtension(**EXTENSION_CONFIGS["toc"]),
        sane_lists.SaneListExtension(),
        smarty.SmartyExtension(substitutions=smarty_substitutions(lang)),
        saneheaders.SaneHeadersExtension(),  # "#hashtag" is text, "# Heading" a heading
        magiclink.MagiclinkExtension(),  # bare https://… and www.… become links
        _PostpipeExtension(),
    ]


class Markup:
    """A reusable Markdown converter (one per builder), one Markdown instance per
    quotation style (:data:`QUOTES`), made when a post in that language comes."""

    def __init__(self) -> None:
        self._by_lang: dict[str, tuple[markdown.Markdown, _PostpipeExtension]] = {}

    def _instance(self, lang: str) -> tuple[markdown.Markdown, _PostpipeExtension]:
        key = quote_lang(lang)
        if key not in self._by_lang:
            exts = extensions(key)
            ext = exts[-1]
            assert isinstance(ext, _PostpipeExtension)
            md = markdown.Markdown(extensions=exts, output_format="html")
            smarty = md.treeprocessors["smarty"]
            quick = _QuickSmarty(md)
            quick.inlinePatterns = smarty.inlinePatterns  # type: ignore[attr-defined]
            md.treeprocessors.register(quick, "smarty", 6)
            self._by_lang[key] = (md, ext)
        return self._by_lang[key]

    def convert(
        self, text: str, resolver: Resolver | None = None, lang: str = "en"
    ) -> MarkupResult:
        md, ext = self._instance(lang)
        md.reset()
        ext.reset()  # not registered with Markdown, so md.reset() skips it
        ext.resolver = resolver
        html = md.convert(text)
        toc = _toc(getattr(md, "toc_tokens", []))
        result = MarkupResult(
            html=html,
            toc=toc,
            images=list(ext.images),
            broken_links=list(ext.broken),
            links=list(ext.links),
        )
        ext.resolver = None
        return result


def _toc(tokens: list[dict]) -> list[dict]:
    return [
        {"id": t["id"], "name": _plain(t["name"]), "children": _toc(t.get("children", []))}
        for t in tokens
    ]


def plain_text(html: str) -> str:
    """The text of an HTML fragment, entities decoded."""
    return _plain(html)


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

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
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
