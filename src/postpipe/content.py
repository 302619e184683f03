"""Posts: one Markdown file with YAML front matter becomes one frozen ``Post``.

``load_posts`` reads every ``posts/**/*.md`` file, validates the front matter
against the schema of DESIGN §1 and collects every error of every post, each
with the file, the line and a hint, before raising them together.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from .assets import IMAGE_PROBLEM_HINT, image_problem
from .errors import ContentError, ErrorGroup
from .headers import header_problem
from .paths import IMAGE_HINT, content_problem, locate_image

try:  # libyaml is ten times faster; the pure-Python loader gives the same nodes
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class Image:
    """A local image: the path in the front matter and the file it resolves to."""

    ref: str
    path: Path
    alt: str


@dataclass(frozen=True)
class Speaker:
    name: str
    talk: str = ""
    affiliation: str = ""
    role: str = ""
    url: str = ""
    photo: Image | None = None


@dataclass(frozen=True)
class Event:
    name: str
    start: datetime | None = None
    end: datetime | None = None
    location: str = ""
    organisers: tuple[str, ...] = ()
    url: str = ""


@dataclass(frozen=True)
class Newsletter:
    subject: str
    preheader: str | None
    send_at: datetime | None
    list: str | None


@dataclass(frozen=True)
class Post:
    """One write-up. ``line_of`` maps a front matter key (``event.start``) to its line."""

    source: Path
    rel: str
    title: str
    date: datetime
    slug: str
    body: str
    body_line: int
    lang: str
    author: str = ""
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    summary: str | None = None
    draft: bool = False
    image: Image | None = None
    event: Event | None = None
    speakers: tuple[Speaker, ...] = ()
    newsletter: Newsletter | None = None
    share_image: Image | None = None  # the social card instead of the drawn one
    translation_key: str | None = None  # editions in other languages share it (DESIGN §7)
    line_of: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line(self, key: str) -> int:
        """The line of a front matter key, or of the opening ``---``."""
        return self.line_of.get(key, 1)


# ---------------------------------------------------------------------------
# slugs

_FOLD = str.maketrans(
    {
        "ø": "o",
        "Ø": "o",
        "æ": "ae",
        "Æ": "ae",
        "ß": "ss",
        "đ": "d",
        "ł": "l",
        "Ł": "l",
        "þ": "th",
        "œ": "oe",
        "&": " and ",
    }
)


MAX_SLUG = 200  # WordPress keeps 200 characters of a slug; every file name stays < 255 bytes


def _fold(text: str) -> str:
    """Letters folded to ASCII, lower case, every other run of characters one ``-``."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def cut_slug(slug: str, limit: int = MAX_SLUG) -> str:
    """``slug`` cut at a ``-`` to at most ``limit`` characters (mid-word only for one long word)."""
    if len(slug) <= limit:
        return slug
    head = slug[:limit]
    if slug[limit] != "-" and "-" in head:
        head = head.rsplit("-", 1)[0]
    return head.strip("-")


def slugify(text: str) -> str:
    """Fold a title to an ASCII slug: ``Göteborg 2027`` → ``goteborg-2027``.

    At most :data:`MAX_SLUG` characters, cut at a word boundary; shorter slugs are
    exactly what they always were (a published slug is a URL and a CMS key).
    """
    return cut_slug(_fold(text))


#: Symbols that name a tag (``C++``, ``C#``) rather than separate its words.
_SYMBOL_WORDS = {"+": "plus", "#": "sharp", "@": "at", "%": "percent"}
_SYMBOL_RE = re.compile("[" + re.escape("".join(_SYMBOL_WORDS)) + "]")


def _term_identity(name: str) -> str:
    """What makes two tag (or category) names the same: case, accents and spacing aside."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def term_slug(name: str) -> str:
    """The one slug of a tag or category name: ``C++`` → ``c-plus-plus``, ``C#`` → ``c-sharp``.

    Names whose slugs agree are one tag (``Résumé``, ``resume``, ``RESUME``). A
    leading ``#`` or ``@`` is a hashtag or handle and dropped; other symbols of
    :data:`_SYMBOL_WORDS` become words. When letters, digits or symbols that have
    no ASCII form (``日本``, ``€``) would vanish, or the slug would be too long, a
    short hash of the name is added, so distinct names never share a page.
    """
    text = name.strip()
    text = re.sub(r"^[#@]+(?=\w)", "", text)
    slug = _fold(_SYMBOL_RE.sub(lambda m: f" {_SYMBOL_WORDS[m.group()]} ", text))
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    lost = any(
        ord(c) > 127 and unicodedata.category(c)[0] in "LNS"
        for c in folded
        if not unicodedata.combining(c)
    )
    if slug and not lost and len(slug) <= MAX_SLUG:
        return slug
    tag = hashlib.sha256(_term_identity(name).encode("utf-8")).hexdigest()[:6]
    return f"{cut_slug(slug, MAX_SLUG - 7)}-{tag}" if slug else tag


_SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# ---------------------------------------------------------------------------
# the schema


class _Problem(Exception):
    """A value of the wrong form; becomes a ContentError with the key's line."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _yaml_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean (yes/no/true/false)"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, datetime | date):
        return "a date"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "empty"
    return "text"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    raise _Problem(
        f"must be text, but YAML read {_yaml_kind(value)}",
        'put the value in quotes, e.g. title: "2026: a year in review"',
    )


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _Problem(f"must be true or false, not {_yaml_kind(value)}", "write draft: true")


_NULL_TAG = "tag:yaml.org,2002:null"


def _as_value(node: yaml.Node) -> Any:
    """What YAML would make of a node, for messages ("YAML read a number")."""
    try:
        return SafeConstructor().construct_document(node)
    except (yaml.YAMLError, ValueError, OverflowError):
        return node.value if isinstance(node, yaml.ScalarNode) else None


def _str_list(node: yaml.Node) -> tuple[str, ...]:
    """A list of text, each item exactly as written: ``[0x1F, 010, yes]`` stays text.

    Takes the YAML node, not the constructed value, so YAML never turns a tag
    into a number, a boolean or a date.
    """
    if not isinstance(node, yaml.SequenceNode):
        value = _as_value(node)
        example = value if isinstance(value, str) else "a, b"
        raise _Problem(
            f"must be a list, but YAML read {_yaml_kind(value)}",
            f"write it as a list: [{example}] or one '- item' per line",
        )
    out = []
    for item in node.value:
        if not isinstance(item, yaml.ScalarNode) or (item.tag == _NULL_TAG and not item.style):
            raise _Problem(f"must be a list of text, but one item is {_yaml_kind(_as_value(item))}")
        if item.value.strip():
            out.append(item.value.strip())
    return tuple(out)


def _url(value: Any) -> str:
    text = _text(value)
    if text and not re.match(r"^(https?://|mailto:)", text):
        raise _Problem(f"'{text}' is not an absolute URL", "start it with https://")
    return text


def _lang(value: Any) -> str:
    text = _text(value)
    if not re.fullmatch(r"[a-z]{2}(-[A-Za-z]{2})?", text):
        raise _Problem(f"'{text}' is not a language code", "use a code such as en or sv")
    return text


def _slug(value: Any) -> str:
    text = _text(value)
    if not _SLUG_RE.fullmatch(text):
        raise _Problem(
            f"'{text}' is not a valid slug",
            f"use lower-case ASCII letters, digits and '-', e.g. {slugify(text) or 'my-post'}",
        )
    if len(text) > MAX_SLUG:
        raise _Problem(
            f"has {len(text)} characters, more than {MAX_SLUG}",
            f"a slug is a URL and a file name: shorten it, e.g. slug: {cut_slug(text, 60)}",
        )
    return text


_DATE_HINT = "write a date like 2026-10-22, 2026-10-22 17:00 or 2026-10-22T17:00:00+02:00"
MIN_YEAR, MAX_YEAR = 1900, 2200  # every date computation (UTC, feeds, cron) is safe inside


def parse_datetime(value: Any, tz: tzinfo, *, require_tz: bool = False) -> datetime:
    """A front matter date or datetime as an aware datetime (naive ones get ``tz``)."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime.combine(value, time())
    elif isinstance(value, str):
        try:
            result = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _Problem(f"'{value}' is not a valid date", _DATE_HINT) from None
    else:
        raise _Problem(f"must be a date, but YAML read {_yaml_kind(value)}", _DATE_HINT)
    if not MIN_YEAR <= result.year <= MAX_YEAR:
        raise _Problem(
            f"'{value}' is in the year {result.year}, outside {MIN_YEAR}–{MAX_YEAR}",
            f"check the year; postpipe takes dates from {MIN_YEAR} to {MAX_YEAR}",
        )
    if result.tzinfo is None:
        if require_tz:
            raise _Problem(
                f"'{value}' has no time zone",
                "add an offset so cron sends at the right moment, "
                "e.g. send_at: 2026-10-23T08:00:00+02:00",
            )
        result = result.replace(tzinfo=tz)
    return result


#: Parsers that take the YAML node itself, to keep the text as written.
_NODE_PARSERS: tuple[Callable[[Any], Any], ...] = (_str_list,)


@dataclass(frozen=True)
class _Key:
    parse: Callable[[Any], Any] | None
    required: bool = False


POST_KEYS = (
    "title",
    "date",
    "author",
    "categories",
    "tags",
    "summary",
    "slug",
    "draft",
    "lang",
    "image",
    "image_alt",
    "event",
    "speakers",
    "newsletter",
    "share_image",
    "translation_key",
)
EVENT_KEYS = ("name", "start", "end", "location", "organisers", "url")
SPEAKER_KEYS = ("name", "talk", "affiliation", "role", "url", "photo", "photo_alt")
NEWSLETTER_KEYS = ("subject", "preheader", "send_at", "list")

# ---------------------------------------------------------------------------
# loading


class _FieldReader:
    """Reads front matter keys of one file into values; appends every problem to ``errors``.

    The shared machinery of the readers: key lines, unknown and duplicate keys,
    one field through its parser, nested mappings and image references.
    """

    def __init__(
        self, path: Path, rel: str, posts_dir: Path, tz: tzinfo, lang: str, author: str
    ) -> None:
        self.path, self.rel, self.posts_dir = path, rel, posts_dir
        self.tz, self.default_lang, self.default_author = tz, lang, author
        self.errors: list[ContentError] = []
        self.line_of: dict[str, int] = {}
        self.failed: set[str] = set()  # keys that already have an error

    def error(self, line: int | None, message: str, hint: str | None = None) -> None:
        self.errors.append(ContentError(message, path=self.rel, line=line, hint=hint))

    # -- fields ----------------------------------------------------------
    def mapping(
        self, node: yaml.MappingNode, known: tuple[str, ...], prefix: str
    ) -> dict[str, tuple[int, yaml.Node]]:
        """Keys of a mapping node with their lines; unknown and duplicate keys are errors."""
        out: dict[str, tuple[int, yaml.Node]] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 2
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            name = f"{prefix}{key}"
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
                where = f" in '{prefix[:-1]}'" if prefix else ""
                hint = (
                    f"did you mean '{close[0]}'?"
                    if close
                    else f"known keys{where}: {', '.join(known)}"
                )
                self.error(line, f"unknown front matter key '{name}'", hint)
                continue
            if key in out:
                self.error(
                    line,
                    f"front matter key '{name}' appears twice",
                    f"keep one of lines {out[key][0]} and {line}",
                )
            out[key] = (line, value_node)
            self.line_of[name] = line
        return out

    @staticmethod
    def value(node: yaml.Node) -> Any:
        return SafeConstructor().construct_document(node)

    def field(
        self,
        data: dict[str, tuple[int, yaml.Node]],
        key: str,
        name: str,
        parse: Callable[[Any], Any],
        default: Any = None,
    ) -> Any:
        if key not in data:
            return default
        line, node = data[key]
        if parse in _NODE_PARSERS:  # they read the text as written, not what YAML makes of it
            empty = isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG and not node.style
            raw = None if empty else node
        else:
            try:
                raw = self.value(node)
            except yaml.YAMLError as exc:
                self.failed.add(name)
                self.error(line, f"'{name}' cannot be read: {exc}")
                return default
            except ValueError:
                # PyYAML's timestamp constructor fails on e.g. 2026-13-45; let our
                # parser report the text with a hint
                raw = node.value if isinstance(node, yaml.ScalarNode) else None
        if raw is None:
            return default
        try:
            return parse(raw)
        except _Problem as p:
            self.failed.add(name)
            self.error(line, f"'{name}' {p.message}", p.hint)
            return default

    def image(
        self,
        ref: str | None,
        alt: str | None,
        key: str,
        alt_key: str,
        line_ref: int,
        *,
        need_alt: bool = True,
    ) -> Image | None:
        if not ref:
            return None
        found = locate_image(ref, self.path.parent, self.posts_dir)
        refusal = found.refusal
        if refusal is not None:
            self.error(line_ref, f"image '{ref}' ({key}) {refusal.reason}", refusal.hint)
            return None
        if found.path is None:
            self.error(line_ref, f"image '{ref}' ({key}) does not exist", IMAGE_HINT)
            return None
        problem = image_problem(found.path)
        if problem is not None:
            self.error(line_ref, f"image '{ref}' ({key}) {problem}", IMAGE_PROBLEM_HINT)
            return None
        if not alt and need_alt:
            self.error(
                line_ref,
                f"'{key}' has no alt text",
                f"add {alt_key}: a short description of the picture for screen readers "
                "and for mail clients that block images",
            )
            return None
        return Image(ref=ref, path=found.path.resolve(), alt=alt or "")

    def sub_mapping(
        self, data: dict[str, tuple[int, yaml.Node]], key: str, known: tuple[str, ...], prefix: str
    ) -> dict[str, tuple[int, yaml.Node]] | None:
        if key not in data:
            return None
        line, node = data[key]
        if not isinstance(node, yaml.MappingNode):
            self.error(
                line,
                f"'{prefix[:-1]}' must be a mapping of keys",
                f"indent its keys under it: {', '.join(known)}",
            )
            return None
        return self.mapping(node, known, prefix)


class _PostReader(_FieldReader):
    """Validates one file: the front matter block, then the post's keys."""

    # -- parsing ---------------------------------------------------------
    def read(self) -> Post | None:
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            self.error(None, f"cannot read the file: {exc.strerror}")
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            self.error(
                line,
                f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                "save the file as UTF-8 in your editor",
            )
            return None
        text = text.removeprefix("\ufeff")
        lines = text.split("\n")
        if not lines or lines[0].strip() != "---":
            self.error(
                1,
                "the file does not start with front matter",
                "begin the file with a '---' line, the YAML keys (title, date, …) "
                "and another '---' line",
            )
            return None
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is None:
            self.error(
                1,
                "the front matter is not closed",
                "add a '---' line after the last front matter key",
            )
            return None
        yaml_text = "\n".join(lines[1:end])
        try:
            node = yaml.compose(yaml_text, Loader=_Loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 2 if mark else 1
            problem = (exc.problem or "invalid YAML").strip()
            self.error(
                line,
                f"invalid YAML in the front matter: {problem}",
                "check indentation, and quote values that contain ':' or start "
                "with '@', '`', '[' or '{'",
            )
            return None
        except yaml.YAMLError as exc:
            self.error(1, f"invalid YAML in the front matter: {exc}")
            return None
        if node is None:
            self.error(1, "the front matter is empty", "add at least title: and date:")
            return None
        if not isinstance(node, yaml.MappingNode):
            self.error(2, "the front matter must be 'key: value' lines")
            return None
        data = self.mapping(node, POST_KEYS, "")
        return self.build(data, body="\n".join(lines[end + 1 :]), body_line=end + 2)

    # -- building --------------------------------------------------------
    def build(
        self, data: dict[str, tuple[int, yaml.Node]], body: str, body_line: int
    ) -> Post | None:
        tz = self.tz
        title = self.field(data, "title", "title", _text)
        if "title" not in data:
            self.error(
                2,
                "the front matter has no 'title'",
                'add a line such as title: "Safer Streets Summit 2026"',
            )
        elif not title and "title" not in self.failed:
            self.error(self.line_of["title"], "'title' is empty", "write the headline")
        when = self.field(data, "date", "date", lambda v: parse_datetime(v, tz))
        if "date" not in data:
            self.error(
                2,
                "the front matter has no 'date'",
                "add the publication date, e.g. date: 2026-10-22 17:00",
            )
        elif when is None and "date" not in self.failed:
            self.error(self.line_of["date"], "'date' is empty", _DATE_HINT)
        slug = self.field(data, "slug", "slug", _slug)
        lang = self.field(data, "lang", "lang", _lang, self.default_lang)
        image_ref = self.field(data, "image", "image", _text)
        image_alt = self.field(data, "image_alt", "image_alt", _text)
        image = self.image(image_ref, image_alt, "image", "image_alt", self.line_of.get("image", 1))
        if image_alt and not image_ref:
            pass  # harmless: alt text for an image that is not set
        share_ref = self.field(data, "share_image", "share_image", _text)
        share_image = self.image(
            share_ref, "", "share_image", "", self.line_of.get("share_image", 1), need_alt=False
        )
        if share_image is not None and share_image.path.suffix.lower() in (".svg", ".gif"):
            self.error(
                self.line_of.get("share_image", 1),
                f"share_image '{share_image.ref}' is {share_image.path.suffix[1:].upper()}",
                "use a JPEG, PNG or WebP picture (social networks show no SVG or animation); "
                "it is cropped to 1200×630",
            )
            share_image = None
        groups = _GroupReader(self)
        event = groups.event(data)
        speakers = groups.speakers(data)
        newsletter = groups.newsletter(data, title or "")
        post_fields = dict(
            author=self.field(data, "author", "author", _text, self.default_author),
            categories=self.field(data, "categories", "categories", _str_list, ()),
            tags=self.field(data, "tags", "tags", _str_list, ()),
            summary=self.field(data, "summary", "summary", _text) or None,
            draft=self.field(data, "draft", "draft", _bool, False),
            translation_key=self.field(data, "translation_key", "translation_key", _text) or None,
        )
        send_at = newsletter.send_at if newsletter else None
        if send_at is not None and when is not None and send_at < when:
            self.error(
                self.line_of.get("newsletter.send_at"),
                f"'newsletter.send_at' ({send_at.isoformat()}) is before the post's "
                f"date ({when.isoformat()})",
                "a newsletter cannot go out before its post is published; "
                "move send_at after date or date earlier",
            )
        if self.errors or not title or when is None:
            return None
        slug = slug or slugify(title)
        if not slug:
            self.error(
                self.line_of["title"],
                "the title gives an empty slug",
                "add slug: with lower-case ASCII letters, e.g. slug: summit-2026",
            )
            return None
        return Post(
            source=self.path,
            rel=self.rel,
            title=title,
            date=when,
            slug=slug,
            body=body,
            body_line=body_line,
            lang=lang,
            image=image,
            share_image=share_image,
            event=event,
            speakers=speakers,
            newsletter=newsletter,
            line_of=dict(self.line_of),
            **post_fields,
        )


class _GroupReader:
    """The nested front matter groups: ``event``, ``speakers`` and ``newsletter``."""

    def __init__(self, reader: _FieldReader) -> None:
        self.r = reader

    def event(self, data: dict[str, tuple[int, yaml.Node]]) -> Event | None:
        ev = self.r.sub_mapping(data, "event", EVENT_KEYS, "event.")
        if ev is None:
            return None
        name = self.r.field(ev, "name", "event.name", _text)
        if not name:
            self.r.error(
                self.r.line_of["event"], "the event has no 'name'", "add name: under event:"
            )
        start = self.r.field(ev, "start", "event.start", lambda v: parse_datetime(v, self.r.tz))
        end = self.r.field(ev, "end", "event.end", lambda v: parse_datetime(v, self.r.tz))
        if start and end and end < start:
            self.r.error(
                self.r.line_of.get("event.end"),
                "'event.end' is before 'event.start'",
                "swap them or fix the date",
            )
        return Event(
            name=name or "",
            start=start,
            end=end,
            location=self.r.field(ev, "location", "event.location", _text, ""),
            organisers=self.r.field(ev, "organisers", "event.organisers", _str_list, ()),
            url=self.r.field(ev, "url", "event.url", _url, ""),
        )

    def speakers(self, data: dict[str, tuple[int, yaml.Node]]) -> tuple[Speaker, ...]:
        if "speakers" not in data:
            return ()
        line, node = data["speakers"]
        if not isinstance(node, yaml.SequenceNode):
            self.r.error(
                line, "'speakers' must be a list", "write one '- name: …' entry per speaker"
            )
            return ()
        out = []
        for i, item in enumerate(node.value):
            item_line = item.start_mark.line + 2
            prefix = f"speakers[{i}]."
            if not isinstance(item, yaml.MappingNode):
                self.r.error(
                    item_line,
                    f"speaker {i + 1} must be a mapping with at least 'name'",
                    "write - name: Ann Berg",
                )
                continue
            sp = self.r.mapping(item, SPEAKER_KEYS, prefix)
            name = self.r.field(sp, "name", f"{prefix}name", _text)
            if not name:
                self.r.error(item_line, f"speaker {i + 1} has no 'name'", "add name:")
                continue
            photo_ref = self.r.field(sp, "photo", f"{prefix}photo", _text)
            photo_alt = self.r.field(sp, "photo_alt", f"{prefix}photo_alt", _text)
            photo = self.r.image(
                photo_ref,
                photo_alt,
                f"{prefix}photo",
                "photo_alt",
                self.r.line_of.get(f"{prefix}photo", item_line),
            )
            out.append(
                Speaker(
                    name=name,
                    talk=self.r.field(sp, "talk", f"{prefix}talk", _text, ""),
                    affiliation=self.r.field(sp, "affiliation", f"{prefix}affiliation", _text, ""),
                    role=self.r.field(sp, "role", f"{prefix}role", _text, ""),
                    url=self.r.field(sp, "url", f"{prefix}url", _url, ""),
                    photo=photo,
                )
            )
        return tuple(out)

    def newsletter(self, data: dict[str, tuple[int, yaml.Node]], title: str) -> Newsletter | None:
        nl = self.r.sub_mapping(data, "newsletter", NEWSLETTER_KEYS, "newsletter.")
        if nl is None:
            return None

        def header(value: Any) -> str:
            # an email header: a line break would start a new header (Bcc: …)
            text = _text(value)
            problem = header_problem(text)
            if problem:
                raise _Problem(
                    f"{problem}, which an email header cannot hold",
                    "write it on one line, without line breaks or tabs (quote it in "
                    "the YAML if it has a ':'); a long subject is folded for you",
                )
            return text

        subject = self.r.field(nl, "subject", "newsletter.subject", header)
        if (
            not subject
            and "newsletter.subject" not in self.r.failed
            and header_problem(title or "")
        ):
            self.r.error(
                self.r.line_of.get("newsletter"),
                f"the newsletter subject defaults to the title, which "
                f"{header_problem(title)}, and an email header cannot hold that",
                "set newsletter.subject: to the subject on one line",
            )
        return Newsletter(
            subject=subject or title,
            preheader=self.r.field(nl, "preheader", "newsletter.preheader", header),
            send_at=self.r.field(
                nl,
                "send_at",
                "newsletter.send_at",
                lambda v: parse_datetime(v, self.r.tz, require_tz=True),
            ),
            list=self.r.field(nl, "list", "newsletter.list", _text),
        )


def load_post(
    path: Path,
    posts_dir: Path,
    *,
    tz: tzinfo,
    lang: str = "en",
    author: str = "",
    rel: str | None = None,
) -> tuple[Post | None, list[ContentError]]:
    """Read one file; returns the post (or None) and every error found in it."""
    reader = _PostReader(path, rel or str(path), posts_dir, tz, lang, author)
    post = reader.read()
    return post, reader.errors


def source_files(posts_dir: Path) -> list[Path]:
    """Every Markdown file under ``posts_dir``, in a stable order.

    Hidden files, files in hidden folders and symlinks to files outside
    ``posts_dir`` are not posts (paths.content_problem).
    """
    out = []
    for path in posts_dir.rglob("*.md"):  # rglob does not enter symlinked folders
        hidden = any(part.startswith(".") for part in path.relative_to(posts_dir).parts)
        if hidden or not path.is_file():
            continue
        if path.is_symlink() and content_problem(path, posts_dir) is not None:
            continue
        out.append(path)
    return sorted(out)


def load_posts(
    root: Path, *, tz: tzinfo, lang: str = "en", author: str = "", raise_errors: bool = True
) -> tuple[list[Post], list[ContentError]]:
    """Load ``root/posts/**/*.md``; newest first.

    Collects every error of every post (and duplicate slugs across files). With
    ``raise_errors`` they are raised together as an :class:`ErrorGroup`.
    """
    posts_dir = root / "posts"
    posts: list[Post] = []
    errors: list[ContentError] = []
    if not posts_dir.is_dir():
        errors.append(
            ContentError(
                "there is no posts/ folder",
                path=str(root),
                hint="create posts/ or run 'postpipe new \"Title\"'",
            )
        )
    else:
        seen: dict[str, Post] = {}
        for path in source_files(posts_dir):
            rel = path.relative_to(root).as_posix()
            post, errs = load_post(path, posts_dir, tz=tz, lang=lang, author=author, rel=rel)
            errors.extend(errs)
            if post is None:
                continue
            if post.slug in seen:
                other = seen[post.slug]
                errors.append(
                    ContentError(
                        f"slug '{post.slug}' is already used by {other.rel}",
                        path=rel,
                        line=post.line("slug") if "slug" in post.line_of else post.line("title"),
                        hint="give one of the posts its own slug: line in the front matter",
                    )
                )
                continue
            seen[post.slug] = post
            posts.append(post)
    if errors and raise_errors:
        raise ErrorGroup(errors)
    posts.sort(key=lambda p: (p.date, p.slug), reverse=True)
    return posts, errors
