"""Labels and date formats for the languages postpipe speaks (en, sv)."""

from __future__ import annotations

from datetime import datetime

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "contents": "Contents",
        "speakers": "Speakers",
        "organisers": "Organisers",
        "when": "When",
        "where": "Where",
        "tags": "Tags",
        "categories": "Categories",
        "newer": "Newer posts",
        "older": "Older posts",
        "feed": "Atom feed",
        "draft": "Draft",
        "by": "By",
        "view_in_browser": "View in your browser",
        "read_on_web": "Read on the web",
        "unsubscribe": "Unsubscribe",
        "event": "Event",
        "skip": "Skip to content",
        "why_received": "You receive this newsletter because you subscribed to {site}.",
        "page_of": "Page {page} of {pages}",
        "tagged": "Posts tagged “{name}”",
        "in_category": "Posts in “{name}”",
        "latest": "Latest posts",
        "links": "Links",
        "not_found": "Page not found",
        "add_to_calendar": "Add to calendar",
        "calendar_file": "Calendar file (.ics)",
        "google_calendar": "Google Calendar",
        "outlook_calendar": "Outlook.com",
        "read_in": "Read in English",
        "languages": "Languages",
    },
    "sv": {
        "contents": "Innehåll",
        "speakers": "Talare",
        "organisers": "Arrangörer",
        "when": "När",
        "where": "Var",
        "tags": "Taggar",
        "categories": "Kategorier",
        "newer": "Nyare inlägg",
        "older": "Äldre inlägg",
        "feed": "Atom-flöde",
        "draft": "Utkast",
        "by": "Av",
        "view_in_browser": "Visa i webbläsaren",
        "read_on_web": "Läs på webben",
        "unsubscribe": "Avsluta prenumerationen",
        "event": "Evenemang",
        "skip": "Hoppa till innehållet",
        "why_received": "Du får det här nyhetsbrevet eftersom du prenumererar på {site}.",
        "page_of": "Sida {page} av {pages}",
        "tagged": "Inlägg taggade ”{name}”",
        "in_category": "Inlägg i ”{name}”",
        "latest": "Senaste inläggen",
        "links": "Länkar",
        "not_found": "Sidan finns inte",
        "add_to_calendar": "Lägg till i kalendern",
        "calendar_file": "Kalenderfil (.ics)",
        "google_calendar": "Google Kalender",
        "outlook_calendar": "Outlook.com",
        "read_in": "Läs på svenska",
        "languages": "Språk",
    },
}

_MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "sv": [
        "januari",
        "februari",
        "mars",
        "april",
        "maj",
        "juni",
        "juli",
        "augusti",
        "september",
        "oktober",
        "november",
        "december",
    ],
}


def labels(lang: str) -> dict[str, str]:
    """The labels of ``lang`` (``sv-FI`` → ``sv``), English for unknown languages."""
    return LABELS.get(lang.split("-")[0], LABELS["en"])


def _lang(lang: str) -> str:
    base = lang.split("-")[0]
    return base if base in _MONTHS else "en"


def format_date(value: datetime, lang: str) -> str:
    """``22 October 2026`` / ``22 oktober 2026``."""
    return f"{value.day} {_MONTHS[_lang(lang)][value.month - 1]} {value.year}"


def _time(value: datetime) -> str:
    return value.strftime("%H:%M")


def format_when(start: datetime | None, end: datetime | None, lang: str) -> str:
    """An event's dates as people write them: ``20–21 October 2026, 09:00–16:30``."""
    if start is None:
        return ""
    months = _MONTHS[_lang(lang)]
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
