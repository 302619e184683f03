"""Add to calendar (DESIGN §7): an RFC 5545 ``event.ics`` per invitation, and links
that open the event in Google Calendar and Outlook.com. Never a ``data:`` URI
(Gmail and Outlook strip them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from ..content import Post

ICS_NAME = "event.ics"
DEFAULT_LENGTH = timedelta(hours=1)  # an event with a start time and no end


def is_invitation(post: Post) -> bool:
    """An event that starts after the post's date: readers may want it in a calendar."""
    return post.event is not None and post.event.start is not None and post.event.start > post.date


@dataclass(frozen=True)
class CalendarEvent:
    """What every calendar format needs of one event."""

    uid: str
    title: str
    start: datetime
    end: datetime
    all_day: bool
    location: str
    url: str
    description: str
    stamp: datetime

    @classmethod
    def of(cls, post: Post, page_url: str, summary: str) -> CalendarEvent:
        ev = post.event
        assert ev is not None and ev.start is not None
        all_day = (ev.start.hour, ev.start.minute) == (0, 0) and (
            ev.end is None or (ev.end.hour, ev.end.minute) == (0, 0)
        )
        if ev.end is not None:
            end = ev.end + (timedelta(days=1) if all_day else timedelta())
        else:
            end = ev.start + (timedelta(days=1) if all_day else DEFAULT_LENGTH)
        host = urlsplit(page_url).hostname or "localhost"
        return cls(
            uid=f"{post.slug}-event@{host}",  # the same on every build
            title=ev.name,
            start=ev.start,
            end=end,
            all_day=all_day,
            location=ev.location,
            url=page_url,
            description=summary,
            stamp=post.date.astimezone(UTC),
        )


def ics(event: CalendarEvent) -> bytes:
    """The event as an RFC 5545 calendar (``icalendar``), with a VTIMEZONE for a
    named time zone; a fixed UTC offset is written in UTC."""
    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", "-//postpipe//event//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    vevent = icalendar.Event()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", event.stamp)
    if event.all_day:
        vevent.add("dtstart", event.start.date())
        vevent.add("dtend", event.end.date())
    else:
        vevent.add("dtstart", _zoned(event.start))
        vevent.add("dtend", _zoned(event.end))
    vevent.add("summary", event.title)
    if event.location:
        vevent.add("location", event.location)
    vevent.add("url", event.url)
    if event.description:
        vevent.add("description", event.description)
    cal.add_component(vevent)
    if not event.all_day:
        # the rules of the event's year only: a short file, the same on every build
        year = event.start.year
        cal.add_missing_timezones(date(year - 1, 1, 1), date(year + 2, 1, 1))
    return bytes(cal.to_ical())


def _zoned(value: datetime) -> datetime:
    return value if isinstance(value.tzinfo, ZoneInfo) else value.astimezone(UTC)


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


def google_url(event: CalendarEvent) -> str:
    """Google Calendar's "create event" page, filled in."""
    if event.all_day:
        dates = f"{_day(event.start)}/{_day(event.end)}"
    else:
        dates = f"{_utc(event.start)}/{_utc(event.end)}"
    query = {
        "action": "TEMPLATE",
        "text": event.title,
        "dates": dates,
        "details": _details(event),
        "location": event.location,
    }
    if not event.all_day and isinstance(event.start.tzinfo, ZoneInfo):
        query["ctz"] = event.start.tzinfo.key
    return "https://calendar.google.com/calendar/render?" + urlencode(query)


def outlook_url(event: CalendarEvent) -> str:
    """Outlook.com's "new event" page, filled in."""
    if event.all_day:
        start, end = event.start.date().isoformat(), event.end.date().isoformat()
    else:
        start, end = _iso(event.start), _iso(event.end)
    query = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": event.title,
        "startdt": start,
        "enddt": end,
        "body": _details(event),
        "location": event.location,
    }
    if event.all_day:
        query["allday"] = "true"
    return "https://outlook.live.com/calendar/0/deeplink/compose?" + urlencode(query)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _details(event: CalendarEvent) -> str:
    return f"{event.description}\n\n{event.url}" if event.description else event.url


def links(event: CalendarEvent, ics_href: str, ics_url: str) -> dict[str, str]:
    """The links of the "Add to calendar" block (``ics_href`` on the site,
    ``ics_url`` absolute for the email and the text part)."""
    return {
        "ics_href": ics_href,
        "ics_url": ics_url,
        "google": google_url(event),
        "outlook": outlook_url(event),
    }
