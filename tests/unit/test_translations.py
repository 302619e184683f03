"""Languages (issue 15): the list each language's newsletter goes to (resolved in
one place, ``Settings.newsletter_list``), the label catalogues and Babel's dates,
and the translation groups."""

from __future__ import annotations

import tomllib
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from postpipe.config import config_table, load_settings
from postpipe.render import i18n
from postpipe.translations import Edition, Translations, post_path, section


def settings(tmp_path: Path, **env: str):  # type: ignore[no-untyped-def]
    return load_settings(tmp_path, environ=env)


def test_the_language_list_variable_wins_over_the_plain_one(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        POSTPIPE_LIST="mailchimp",
        MAILCHIMP_LIST_ID="main",
        MAILCHIMP_LIST_ID_SV="svenska",
        LISTMONK_LIST_IDS_EN="9",
    )
    assert s.newsletter_list("sv") == "svenska"
    assert s.newsletter_list("sv-FI") == "svenska"  # the base language's list
    assert s.newsletter_list("en") is None  # the target's default: MAILCHIMP_LIST_ID
    assert s.newsletter_list("sv", own="own-list") == "own-list"  # the post's own list wins
    assert s.newsletter_list("en", target="listmonk") == "9"


def test_a_region_variable_is_more_specific_than_the_language(tmp_path: Path) -> None:
    s = settings(tmp_path, POSTPIPE_LIST="brevo", BREVO_LIST_IDS_SV="1", BREVO_LIST_IDS_SV_FI="2")
    assert s.newsletter_list("sv-FI") == "2"
    assert s.newsletter_list("sv") == "1"


def test_every_target_has_its_language_variable(tmp_path: Path) -> None:
    env = {
        "POSTPIPE_OUTBOX_DIR_SV": "outbox-sv",
        "MAILCHIMP_LIST_ID_SV": "m",
        "LISTMONK_LIST_IDS_SV": "3",
        "BUTTONDOWN_TAG_SV": "svenska",
        "BREVO_LIST_IDS_SV": "7",
        "SMTP_RECIPIENTS_FILE_SV": "sv.csv",
    }
    s = settings(tmp_path, **env)
    got = {
        t: s.newsletter_list("sv", target=t)
        for t in ("outbox", "mailchimp", "listmonk", "buttondown", "brevo", "smtp")
    }
    assert got == {
        "outbox": "outbox-sv",
        "mailchimp": "m",
        "listmonk": "3",
        "buttondown": "svenska",
        "brevo": "7",
        "smtp": "sv.csv",
    }
    assert s.warnings == ()  # POSTPIPE_OUTBOX_DIR_SV is known, not a typo


def test_the_settings_table_documents_the_language_variables() -> None:
    table = config_table()
    for name in (
        "POSTPIPE_OUTBOX_DIR_<LANG>",
        "MAILCHIMP_LIST_ID_<LANG>",
        "LISTMONK_LIST_IDS_<LANG>",
        "BUTTONDOWN_TAG",
        "BUTTONDOWN_TAG_<LANG>",
        "BREVO_LIST_IDS_<LANG>",
        "SMTP_RECIPIENTS_FILE_<LANG>",
    ):
        assert f"| `{name}` |" in table


def _catalogue(lang: str) -> dict:
    path = resources.files("postpipe").joinpath("locales", f"{lang}.toml")
    with path.open("rb") as f:
        return tomllib.load(f)


def test_en_and_sv_catalogues_are_complete() -> None:
    en, sv = _catalogue("en"), _catalogue("sv")
    assert set(en["labels"]) == set(sv["labels"])
    assert all(v.strip() for v in sv["labels"].values())
    assert i18n.labels("sv")["read_in"] == "Läs på svenska"
    assert i18n.labels("en")["read_in"] == "Read in English"
    assert i18n.labels("de")["read_in"] == "Read in English"  # no catalogue: English


def test_dates_come_from_cldr_in_the_catalogues_locale() -> None:
    tz = ZoneInfo("Europe/Stockholm")
    day = datetime(2026, 10, 22, 17, 0, tzinfo=tz)
    assert i18n.format_date(day, "en") == "22 October 2026"
    assert i18n.format_date(day, "sv") == "22 oktober 2026"
    assert i18n.format_date(day, "sv-FI") == "22 oktober 2026"
    start, end = datetime(2026, 10, 20, 9, tzinfo=tz), datetime(2026, 11, 2, 16, 30, tzinfo=tz)
    assert i18n.format_when(start, end, "sv") == "20 oktober – 2 november 2026, 09:00–16:30"
    assert i18n.language_name("sv") == "svenska"


def test_paths_and_groups() -> None:
    assert section("en", "en") == "" and section("sv", "en") == "sv/"
    assert post_path("x", "en-GB", "en") == "x/" and post_path("x", "sv", "en") == "sv/x/"
    groups = Translations(
        [
            Edition("k", "sv", "a"),
            Edition("k", "en", "b"),
            Edition("k", "de", "c", draft=True),
            Edition("j", "en", "d"),
        ]
    )
    assert [e.slug for e in groups.editions("k")] == ["b", "a"]  # drafts left out
    assert [e.slug for e in groups.others("k", "a")] == ["b"]
    assert groups.in_language("k", "sv-FI").slug == "a"  # type: ignore[union-attr]
    assert groups.signature("k") == "en:b|sv:a"
    assert groups.editions(None) == ()


def test_a_malformed_language_list_names_its_variable(tmp_path: Path) -> None:
    import pytest

    from postpipe.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, POSTPIPE_LIST="brevo", BREVO_LIST_IDS_SV="seven")
    assert "BREVO_LIST_IDS_SV='seven' is not valid" in caught.value.message
    assert caught.value.hint is not None and "BREVO_LIST_IDS_SV=3" in caught.value.hint


def test_og_locale_is_the_catalogues_locale_or_the_named_region() -> None:
    assert i18n.og_locale("sv") == "sv_SE"  # sv.toml: locale = "sv_SE"
    assert i18n.og_locale("en") == "en_GB"  # en.toml: locale = "en_GB"
    assert i18n.og_locale("en-US") == "en_US"  # the region the post names wins
    assert i18n.og_locale("sv-FI") == "sv_FI"
    assert i18n.og_locale("de") == "de"  # no catalogue: not English's en_GB
