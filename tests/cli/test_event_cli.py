"""The event model through ``postpipe`` processes (issue 12): the event box shows
only what the post gives, structured data, speakers, "Add to calendar", heading
checks and the text part's line lengths."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import icalendar
import lxml.html
import pytest

FAKES = Path(__file__).resolve().parents[1] / "fakes"
if str(FAKES) not in sys.path:  # clikit, the shared CLI-process helper
    sys.path.insert(0, str(FAKES))

from clikit import cli_env, run_postpipe  # noqa: E402
from clikit import output as out  # noqa: E402

pytestmark = pytest.mark.cli

NOW = "2026-05-04T10:00:00+00:00"
ENV = {
    "POSTPIPE_SITE_URL": "https://news.example.org",
    "POSTPIPE_SITE_TITLE": "Test site",
    "POSTPIPE_TIMEZONE": "Europe/Stockholm",
    "POSTPIPE_FROM_EMAIL": "news@example.org",
}
LONG_HEADING = "Vad " + "trygghet betyder för dem som bor här varje dag och natt " * 3

INVITATION = f"""---
title: Invitation to the neighbourhood safety evening
slug: safety-evening
date: 2026-05-01 09:00
summary: An evening on lighting, night walks and the new youth centre, with the residents.
event:
  name: Neighbourhood safety evening
  start: 2026-06-10 18:00
  end: 2026-06-10 20:30
  location: "Folkets Hus Järntorget, Göteborg"
  organisers: [Safer Streets Network]
  url: https://example.org/evening
speakers:
  - name: Annika Strand
    role: Safety coordinator
    photo: images/annika.png
    photo_alt: Portrait of Annika Strand
    url: https://example.org/people/annika
  - name: Yusuf Demir
    talk: Policing the everyday
newsletter:
  subject: Come to the safety evening
  preheader: Lighting, night walks and the youth centre on 10 June at Järntorget
---

#tryggkväll starts at six, see https://example.org/program for the programme.

## Annika Strand on lighting

Annika showed the map of dark places:
- the underpass
- the park

# A heading by mistake

### {LONG_HEADING}

The end.
"""

NO_START = """---
title: A recap without a date for its event
slug: recap
date: 2026-04-01
summary: What happened.
event:
  name: The evening
  location: Somewhere
newsletter:
  subject: A recap
  preheader: What happened at the evening, in a few short paragraphs to read
---

A first paragraph.
"""


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_postpipe(*args, root=root, env=cli_env(root, NOW, **ENV))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, png_bytes) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("event") / "site"
    (root / "posts" / "images").mkdir(parents=True)
    (root / "posts" / "invitation.md").write_text(INVITATION, encoding="utf-8")
    (root / "posts" / "recap.md").write_text(NO_START, encoding="utf-8")
    (root / "posts" / "images" / "annika.png").write_bytes(png_bytes(200, 300))
    result = run(root, "build")
    assert result.returncode == 0, out(result)
    return root


def page(root: Path, slug: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring((root / "build/site" / slug / "index.html").read_bytes())


def jsonld(doc: lxml.html.HtmlElement) -> list[dict]:  # type: ignore[type-arg]
    [script] = doc.xpath("//script[@type='application/ld+json']")
    data = json.loads(script.text)
    return data.get("@graph", [data])


def test_an_event_without_a_start_has_no_when_row_no_empty_time_and_no_event(built: Path) -> None:
    doc = page(built, "recap")
    box = doc.xpath("//aside[@class='event']")[0]
    assert [dt.text_content() for dt in box.iter("dt")] == ["Where"]
    assert not doc.xpath("//time[not(@datetime) or @datetime='']")
    assert [t["@type"] for t in jsonld(doc)] == ["BlogPosting"]
    assert not (built / "build/site/recap/event.ics").exists()
    assert not doc.xpath("//*[contains(@class, 'calendar')]")
    mail = lxml.html.fromstring((built / "build/newsletters/recap.html").read_bytes())
    assert [td.text_content() for td in mail.xpath("//td[contains(@class,'fact-label')]")] == [
        "Where"
    ]


def test_the_event_in_structured_data(built: Path) -> None:
    posting, event = jsonld(page(built, "safety-evening"))
    assert posting["about"] == {"@id": event["@id"]}
    assert event["startDate"] == "2026-06-10T18:00:00+02:00"
    assert event["endDate"] == "2026-06-10T20:30:00+02:00"
    assert event["location"] == {
        "@type": "Place",
        "name": "Folkets Hus Järntorget",
        "address": "Folkets Hus Järntorget, Göteborg",
    }
    assert event["organizer"] == [{"@type": "Organization", "name": "Safer Streets Network"}]
    assert [p["name"] for p in event["performer"]] == ["Annika Strand", "Yusuf Demir"]
    assert event["eventStatus"] == "https://schema.org/EventScheduled"
    assert event["eventAttendanceMode"] == "https://schema.org/OfflineEventAttendanceMode"
    assert event["url"] == "https://example.org/evening"


def test_a_speaker_links_to_the_section_that_names_them_and_shows_the_photo(built: Path) -> None:
    doc = page(built, "safety-evening")
    [heading] = doc.xpath("//div[@class='post-body']//h2[contains(., 'Annika Strand')]")
    names = doc.xpath("//li[@class='speaker']//p[@class='speaker-name']")
    assert names[0].xpath("a/@href") == [f"#{heading.get('id')}"]
    assert names[1].xpath("a") == []  # no heading names Yusuf Demir, and no url
    assert doc.xpath("//li[@class='speaker']//a[@href='https://example.org/people/annika']")
    [photo] = doc.xpath("//img[@class='speaker-photo']")
    assert photo.get("alt") == "Portrait of Annika Strand"
    # shown 48 px wide (style.css), in the photo's 200×300 ratio, as in the email
    assert (photo.get("width"), photo.get("height")) == ("48", "72")

    mail = lxml.html.fromstring((built / "build/newsletters/safety-evening.html").read_bytes())
    [photo] = mail.xpath("//img[contains(@class,'speaker-photo')]")
    assert (photo.get("width"), photo.get("height")) == ("48", "72")  # fixed width, its ratio
    assert photo.get("src").startswith("https://news.example.org/")
    link = mail.xpath("//a[contains(@class,'speaker-link')]")[0].get("href")
    assert link.startswith("https://news.example.org/safety-evening/")
    assert link.endswith(f"#{heading.get('id')}")


def test_an_invitation_gets_an_ics_file_stable_across_builds(built: Path) -> None:
    data = (built / "build/site/safety-evening/event.ics").read_bytes()
    cal = icalendar.Calendar.from_ical(data)
    [ev] = cal.walk("VEVENT")
    assert str(ev["SUMMARY"]) == "Neighbourhood safety evening"
    assert str(ev["LOCATION"]) == "Folkets Hus Järntorget, Göteborg"
    assert str(ev["URL"]) == "https://news.example.org/safety-evening/"
    assert str(ev["DESCRIPTION"]).startswith("An evening on lighting, night walks")
    start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
    assert start.isoformat() == "2026-06-10T18:00:00+02:00"
    assert end.isoformat() == "2026-06-10T20:30:00+02:00"
    assert ev["DTSTART"].params["TZID"] == "Europe/Stockholm"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Stockholm"]
    assert b"\r\n" in data  # RFC 5545 line ends

    again = built.parent / "again"
    result = run(built, "build", "--out", str(again))
    assert result.returncode == 0, out(result)
    assert (again / "site/safety-evening/event.ics").read_bytes() == data


def _calendar_links(hrefs: list[str]) -> tuple[str, dict, dict]:  # type: ignore[type-arg]
    [ics] = [h for h in hrefs if urlsplit(h).path.endswith("/event.ics")]
    [google] = [h for h in hrefs if h.startswith("https://calendar.google.com/calendar/render?")]
    [outlook] = [
        h for h in hrefs if h.startswith("https://outlook.live.com/calendar/0/deeplink/compose?")
    ]
    return ics, parse_qs(urlsplit(google).query), parse_qs(urlsplit(outlook).query)


def test_add_to_calendar_on_the_page_in_the_email_and_in_the_text_part(built: Path) -> None:
    doc = page(built, "safety-evening")
    [block] = doc.xpath("//div[@class='calendar']")
    assert block.xpath("p")[0].text_content() == "Add to calendar"
    ics, google, outlook = _calendar_links(block.xpath(".//a/@href"))
    assert ics == "/safety-evening/event.ics"
    assert google["action"] == ["TEMPLATE"]
    assert google["text"] == ["Neighbourhood safety evening"]
    assert google["dates"] == ["20260610T160000Z/20260610T183000Z"]
    assert google["location"] == ["Folkets Hus Järntorget, Göteborg"]
    assert "https://news.example.org/safety-evening/" in google["details"][0]
    assert outlook["subject"] == ["Neighbourhood safety evening"]
    assert outlook["startdt"] == ["2026-06-10T16:00:00Z"]
    assert outlook["enddt"] == ["2026-06-10T18:30:00Z"]
    assert outlook["location"] == ["Folkets Hus Järntorget, Göteborg"]

    html = (built / "build/newsletters/safety-evening.html").read_text(encoding="utf-8")
    mail = lxml.html.fromstring(html)
    [block] = mail.xpath("//p[@class='calendar']")
    assert "Add to calendar" in block.text_content()
    ics, google2, _ = _calendar_links(block.xpath(".//a/@href"))
    # UTM like every link to our own site, a file as much as a page (POSTPIPE_UTM)
    utm = "utm_source=newsletter&utm_medium=email&utm_campaign=safety-evening"
    assert ics == f"https://news.example.org/safety-evening/event.ics?{utm}"
    assert google2 == google
    assert "data:" not in html

    text = (built / "build/newsletters/safety-evening.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    at = lines.index("Add to calendar:")
    listed = lines[at + 1 : at + 7]
    assert listed[0::2] == ["- Calendar file (.ics):", "- Google Calendar:", "- Outlook.com:"]
    assert listed[1] == ics  # the same link as the HTML part's
    assert _calendar_links(listed[1::2])[1] == google


def test_no_calendar_for_a_recap_of_a_past_event(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    recap = INVITATION.replace("date: 2026-05-01 09:00", "date: 2026-06-11 09:00")
    photo = "    photo: images/annika.png\n    photo_alt: Portrait of Annika Strand\n"
    recap = recap.replace(photo, "")
    (root / "posts" / "recap.md").write_text(recap, encoding="utf-8")
    result = run(root, "build")
    assert result.returncode == 0, out(result)
    assert not (root / "build/site/safety-evening/event.ics").exists()
    assert "calendar.google.com" not in (root / "build/site/safety-evening/index.html").read_text()


def test_the_folder_cms_gets_the_ics_file_too(built: Path, tmp_path: Path) -> None:
    result = run(built, "publish")
    assert result.returncode == 0, out(result)
    published = built / "public/safety-evening/event.ics"
    assert published.read_bytes() == (built / "build/site/safety-evening/event.ics").read_bytes()


def test_check_warns_on_a_body_h1_a_long_heading_and_an_event_without_start(built: Path) -> None:
    result = run(built, "check")
    text = out(result)
    lines = INVITATION.split("\n")
    h1_line = lines.index("# A heading by mistake") + 1
    long_line = lines.index(f"### {LONG_HEADING}") + 1
    assert f"posts/invitation.md:{h1_line}: warning: a level-1 heading in the body" in text
    assert f"posts/invitation.md:{long_line}: warning: a heading of " in text
    assert "'\\#'" in text  # the hint says how to write a '#' that is text
    assert "posts/recap.md:6: warning: the event has no start" in text
    # the hashtag paragraph is not a heading, so it is not reported
    assert "tryggkväll" not in text
    assert result.returncode == 0, text  # warnings only


def test_every_line_of_the_text_part_fits_76_characters(built: Path) -> None:
    for name in ("safety-evening", "recap"):
        text = (built / f"build/newsletters/{name}.txt").read_text(encoding="utf-8")
        for line in text.splitlines():
            assert len(line) <= 76 or re.fullmatch(r"<?https?://\S+>?[.,;:)]*", line), line
    text = (built / "build/newsletters/safety-evening.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    # the long ### heading is wrapped, not cut
    first = next(i for i, ln in enumerate(lines) if ln.startswith("### Vad trygghet"))
    assert lines[first + 1].startswith("    ")
    joined = " ".join(ln.strip() for ln in lines[first : first + 4]).removeprefix("### ")
    assert joined.startswith(" ".join(LONG_HEADING.split()))
    # hashtag, bare link and list as people write them
    assert "#tryggkväll starts at six" in text
    assert "<https://example.org/program>" in text
    assert "- the underpass\n- the park" in text
