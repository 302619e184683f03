"""Labels and dates in the post's language.

The labels of each language are one catalogue, ``postpipe/locales/<lang>.toml``
(``en`` and ``sv`` ship; adding German is adding ``de.toml``); dates and
language names come from CLDR through Babel, in the catalogue's ``locale``.
An unknown language gets English labels.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from functools import cache
from importlib import resources

FALLBACK = "en"


@cache
def _catalogue(lang: str) -> dict[str, object]:
    path = resources.files("postpipe").joinpath("locales", f"{lang}.toml")
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        return tomllib.load(f)


def _lang(lang: str) -> str:
    base = lang.split("-")[0].lower()
    return base if _catalogue(base) else FALLBACK


def labels(lang: str) -> dict[str, str]:
    """The labels of ``lang`` (``sv-FI`` → ``sv``), English for unknown languages;
    a label a catalogue lacks is the English one."""
    own = _catalogue(_lang(lang)).get("labels", {})
    base = _catalogue(FALLBACK).get("labels", {})
    assert isinstance(own, dict) and isinstance(base, dict)
    return {**base, **own}


def locale(lang: str) -> str:
    """The CLDR locale of ``lang``'s catalogue (``en`` → ``en_GB``)."""
    return str(_catalogue(_lang(lang)).get("locale") or "en_GB")


def og_locale(lang: str) -> str:
    """The page's Open Graph locale (``og:locale``): the region ``lang`` names
    (``en-US`` → ``en_US``), else its catalogue's locale (``sv`` → ``sv_SE``); a
    language without a catalogue as it is written (``de``, ``zh_Hant``)."""
    parts = lang.replace("_", "-").split("-")
    if len(parts) > 1 and len(parts[-1]) == 2 and parts[-1].isalpha():
        return f"{parts[0].lower()}_{parts[-1].upper()}"
    return locale(lang) if _catalogue(parts[0].lower()) else "_".join(parts)


def _months(lang: str) -> list[str]:
    from babel.dates import get_month_names

    names = get_month_names("wide", context="format", locale=locale(lang))
    return [names[m] for m in range(1, 13)]


def format_date(value: datetime, lang: str) -> str:
    """``22 October 2026`` / ``22 oktober 2026``: CLDR's long date of the locale."""
    from babel.dates import format_date as cldr_date

    return cldr_date(value.date(), "long", locale=locale(lang))


def _time(value: datetime) -> str:
    return value.strftime("%H:%M")


def format_when(start: datetime | None, end: datetime | None, lang: str) -> str:
    """An event's dates as people write them: ``20–21 October 2026, 09:00–16:30``."""
    if start is None:
        return ""
    months = _months(lang)
    has_time = (start.hour, start.minute) != (0, 0)
    if end is None:
        text = format_date(start, lang)
        return f"{text}, {_time(start)}" if has_time else text
    end = end.astimezone(start.tzinfo)
    if start.date() == end.date():
        text = format_date(start, lang)
        return f"{text}, {_time(start)}–{_time(end)}" if has_time else text
    if (start.year, start.month) == (end.year, end.month):
        days = f"{start.day}–{end.day} {months[start.month - 1]} {start.year}"
    elif start.year == end.year:
        days = (
            f"{start.day} {months[start.month - 1]} – {end.day} {months[end.month - 1]} "
            f"{start.year}"
        )
    else:
        days = f"{format_date(start, lang)} – {format_date(end, lang)}"
    return f"{days}, {_time(start)}–{_time(end)}" if has_time else days


def language_name(lang: str) -> str:
    """The language's name in itself: ``svenska``, ``English``."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(lang.replace("-", "_")).get_display_name() or lang
    except (ValueError, UnknownLocaleError):
        return lang
