"""The preview's dark-mode toggle for the email views (issue 14), in real Chromium."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser

SUMMIT = "2026-10-22-safer-streets-summit-2026"
LIVE = "document.getElementById('pp-live').dataset.state === 'live'"
BG = """() => {
  const f = document.querySelector('iframe[data-pp-frame="email-600"]:not(.pp-next)');
  const d = f.contentDocument;
  return {bg: getComputedStyle(d.body).backgroundColor,
          filter: getComputedStyle(d.documentElement).filter,
          src: f.getAttribute('src')};
}"""
SETTLED = (
    "!document.querySelector('iframe.pp-next') && [...document.querySelectorAll('iframe')]"
    ".every(f => f.contentDocument && f.contentDocument.readyState === 'complete')"
)


def email_state(page: Any) -> dict[str, str]:
    page.wait_for_function(SETTLED)
    return page.evaluate(BG)  # type: ignore[no-any-return]


def test_the_email_in_light_dark_and_inverted(page: Any, preview: Any) -> None:
    page.goto(f"{preview.url}_preview/posts/{SUMMIT}#email")
    page.wait_for_function(LIVE)
    light = email_state(page)
    assert light["bg"] == "rgb(238, 242, 241)", preview.log()  # #eef2f1, as sent
    assert light["filter"] == "none"

    page.get_by_role("button", name="Dark", exact=True).click()
    page.wait_for_function(
        "document.querySelector('iframe[data-pp-frame=\"email-600\"]')"
        ".getAttribute('src').includes('scheme=dark')"
    )
    dark = email_state(page)
    assert dark["bg"] == "rgb(15, 21, 23)"  # the template's own dark rule (#0f1517)
    assert (
        page.get_by_role("button", name="Dark", exact=True).get_attribute("aria-pressed") == "true"
    )

    page.get_by_role("button", name="Dark (inverting clients)").click()
    page.wait_for_function(
        "document.querySelector('iframe[data-pp-frame=\"email-375\"]')"
        ".getAttribute('src').includes('scheme=invert')"
    )
    inverted = email_state(page)
    assert "invert(1)" in inverted["filter"]

    page.get_by_role("button", name="Light").click()
    page.wait_for_function(
        "!document.querySelector('iframe[data-pp-frame=\"email-600\"]')"
        ".getAttribute('src').includes('scheme=')"
    )
    assert email_state(page)["filter"] == "none"


def test_a_dark_system_scheme_uses_the_emails_dark_rules(page: Any, preview: Any) -> None:
    page.emulate_media(color_scheme="dark")
    page.goto(f"{preview.url}_preview/posts/{SUMMIT}#email")
    page.wait_for_function(LIVE)
    assert email_state(page)["bg"] == "rgb(15, 21, 23)", preview.log()
