"""``postpipe preview`` in real headless Chromium: the index, the post page with
its email frames, live updates on save without a reload (and with the scroll
position kept), the error page for broken front matter and its recovery.

Every test starts its own ``postpipe preview --port 0`` process on a copy of the
sample posts; ``preview.log()`` is in the failure messages. Every wait is on an
event or a state of the page (the event stream open, a refresh counted, an element
shown), never a sleep or a deadline of its own: the page's default timeout
(``conftest.page``) only ends a test that hangs.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

pytestmark = pytest.mark.browser

SUMMIT = "2026-10-22-safer-streets-summit-2026"
PANEL = "2026-11-12-panel-policing-and-trust"
PANEL_TITLE = "Panel: can community policing rebuild trust?"
LIVE = "document.getElementById('pp-live').dataset.state === 'live'"
#: resolves after the next two animation frames: whatever changed before it is painted
NEXT_PAINT = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def open_post(page: Any, preview: Any, key: str, tab: str = "") -> None:
    page.goto(f"{preview.url}_preview/posts/{key}{'#' + tab if tab else ''}")
    page.wait_for_function(LIVE)  # the event stream is open


def watch_navigations(page: Any) -> list[str]:
    """URLs the tab itself navigated to from now on (a reload counts)."""
    navigations: list[str] = []
    page.on("framenavigated", lambda f: f == page.main_frame and navigations.append(f.url))
    return navigations


def frames_settled(page: Any) -> None:
    """Every iframe loaded, and no replacement frame still loading behind one."""
    page.wait_for_function(
        "!document.querySelector('iframe.pp-next') && [...document.querySelectorAll('iframe')]"
        ".every(f => f.contentDocument && f.contentDocument.readyState === 'complete')"
    )


def test_index_lists_the_posts(page: Any, preview: Any) -> None:
    page.goto(preview.url)
    rows = page.locator("tr.pp-row")
    assert rows.count() == 6, preview.log()  # the invitation in two languages (issue 15)
    titles = rows.locator(".pp-title a").all_inner_texts()
    assert titles[0] == "Volunteer evening: thank you!"  # newest first
    assert titles[-1].startswith("Safer Streets Summit 2026")
    assert "Draft" in rows.nth(0).locator(".pp-chip").all_inner_texts()
    rows.nth(5).locator(".pp-title a").click()
    page.wait_for_url(f"**/_preview/posts/{SUMMIT}")


def test_post_page_shows_the_inlined_email_at_600_and_375_px(page: Any, preview: Any) -> None:
    open_post(page, preview, SUMMIT, "email")
    frames_settled(page)
    widths = page.evaluate(
        "[...document.querySelectorAll('iframe.pp-email')].map(f => f.contentWindow.innerWidth)"
    )
    assert widths == [600, 375]
    styled = page.evaluate(
        """() => {
          const body = document.querySelector('iframe[data-pp-frame="email-600"]')
            .contentDocument.body;
          return {body: body.getAttribute('style') || '',
                  styled: body.querySelectorAll('[style]').length,
                  styleTags: body.querySelectorAll('style').length};
        }"""
    )
    assert "margin" in styled["body"], styled  # the body's own rule, inlined
    assert styled["styled"] > 20, styled
    headers = page.locator(".pp-headers").inner_text()
    assert "Summit recap: 5 ideas for safer streets" in headers
    assert "of 102 KB" in headers
    # the images of the email load (from the preview, before the site is deployed)
    broken = page.evaluate(
        "[...document.querySelector('iframe[data-pp-frame=\"email-600\"]').contentDocument"
        ".images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    assert broken == []
    page.get_by_role("tab", name="Plain text").click()
    assert "Summit recap: 5 ideas for safer streets" in page.locator("pre.pp-plain").inner_text()


def test_saving_a_new_title_updates_the_open_page_without_a_reload(page: Any, preview: Any) -> None:
    open_post(page, preview, PANEL)
    frames_settled(page)
    page.evaluate("window.__marker = 'still the same page'")
    navigations = watch_navigations(page)
    new_title = "Panel: can trust be rebuilt, street by street?"
    preview.edit(PANEL, f'title: "{PANEL_TITLE}"', f'title: "{new_title}"')
    # the slug comes from the title, so the blog frame moves to a new address too
    page.wait_for_function(
        "t => document.querySelector('.pp-h1').textContent.trim() === t",
        arg=new_title,
    )
    page.wait_for_function(
        "t => { const f = document.querySelector('iframe[data-pp-frame=\"blog\"]:not(.pp-next)');"
        " return f && f.contentDocument && f.contentDocument.querySelector('h1') &&"
        " f.contentDocument.querySelector('h1').textContent.includes(t); }",
        arg=new_title,
    )
    assert page.evaluate("window.__marker") == "still the same page"
    assert navigations == [], navigations
    assert page.title().startswith(new_title)


def test_the_scroll_positions_survive_an_update(page: Any, preview: Any) -> None:
    open_post(page, preview, SUMMIT)
    frames_settled(page)
    page.evaluate(
        "document.querySelector('iframe[data-pp-frame=\"blog\"]').contentWindow"
        ".scrollTo({top: 900, behavior: 'instant'})"
    )
    page.evaluate("window.scrollTo({top: 120, behavior: 'instant'})")
    before = page.evaluate("window.__ppRefreshes || 0")
    preview.edit(SUMMIT, "More than 430 people", "More than 431 people")
    page.wait_for_function(f"(window.__ppRefreshes || 0) > {before}")
    frames_settled(page)
    blog = page.evaluate(
        "(() => { const f = document.querySelector('iframe[data-pp-frame=\"blog\"]');"
        " return {y: f.contentWindow.scrollY,"
        " text: f.contentDocument.body.textContent.includes('More than 431 people')}; })()"
    )
    assert blog["text"], "the blog frame shows the saved text"
    assert blog["y"] == 900
    assert page.evaluate("window.scrollY") == 120


def test_broken_front_matter_shows_the_error_and_the_fix_brings_the_page_back(
    page: Any, preview: Any
) -> None:
    open_post(page, preview, PANEL, "email")
    page.evaluate("window.__marker = 1")
    navigations = watch_navigations(page)
    good = preview.post(PANEL).read_text(encoding="utf-8")
    preview.edit(PANEL, "date: 2026-11-12 18:00\n", "date: 2026-11-12 18:00\ntittle: oops\n")
    problem = page.locator(".pp-problem")
    problem.wait_for()
    text = problem.inner_text()
    assert f"posts/{PANEL}.md:4" in text, preview.log()
    assert "unknown front matter key 'tittle'" in text
    assert "did you mean 'title'?" in text
    assert page.locator(".pp-line.is-here").inner_text().endswith("tittle: oops")

    preview.post(PANEL).write_text(good, encoding="utf-8")
    page.locator('iframe[data-pp-frame="email-600"]').wait_for()
    assert page.locator(".pp-problem").count() == 0
    assert page.locator('[data-pp-panel="email"]').is_visible()  # still on the Email tab
    assert page.evaluate("window.__marker") == 1
    assert navigations == []


def test_a_blog_page_opened_on_its_own_reloads_itself(page: Any, preview: Any) -> None:
    page.goto(f"{preview.url}safer-streets-summit-2026/")
    page.wait_for_function("window.__ppLive === true")  # its event stream is open
    preview.edit(SUMMIT, 'title: "Safer Streets Summit 2026:', 'title: "Safer Streets (new):')
    page.wait_for_function("document.querySelector('h1').textContent.includes('(new)')")


def test_screenshot_of_the_post_page(page: Any, preview: Any, artifacts) -> None:  # type: ignore[no-untyped-def]
    """test-artifacts/preview-post.png at 1280 px; POSTPIPE_UPDATE_SCREENSHOT=1 also
    refreshes docs/preview.png for the README."""
    open_post(page, preview, SUMMIT, "email")
    frames_settled(page)
    page.evaluate("document.fonts.ready")
    page.evaluate(NEXT_PAINT)  # the fonts' layout is on screen: an event, not a sleep
    shot = artifacts / "preview-post.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    assert page.viewport_size["width"] == 1280
    if os.environ.get("POSTPIPE_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, artifacts.parent / "docs" / "preview.png")
