"""The built sample blog in headless Chromium: what the list pages load and show of
each hero (the 480 px WebP in a 9rem × 4:3 box, a 5rem square on a phone, never
the master), the speaker photos at 48 px, and the language switch's own style with
a visible keyboard focus."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FAKES = REPO / "tests" / "fakes"
if str(FAKES) not in sys.path:  # clikit, the shared CLI-process helper
    sys.path.insert(0, str(FAKES))
from clikit import cli_env, output, run_postpipe  # noqa: E402
from staticserver import serve_folder  # noqa: E402

pytestmark = pytest.mark.browser

NOW = "2026-11-25T12:00:00+00:00"
ENV = {
    "POSTPIPE_SITE_URL": "https://news.example.org",
    "POSTPIPE_SITE_TITLE": "Nordic Safer Communities Network",
    "POSTPIPE_TIMEZONE": "Europe/Stockholm",
    "POSTPIPE_FROM_EMAIL": "news@example.org",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sample posts, built and served over HTTP on 127.0.0.1."""
    root = tmp_path_factory.mktemp("layout") / "root"
    shutil.copytree(REPO / "posts", root / "posts")
    result = run_postpipe("build", root=root, env=cli_env(root, NOW, **ENV))
    assert result.returncode == 0, output(result)
    with serve_folder(root / "build" / "site") as url:
        yield url


def tab(browser: Any, width: int, height: int = 900) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def loaded(page: Any, selector: str) -> None:
    """Every image of ``selector`` scrolled into view (they load lazily) and loaded."""
    for i in range(page.locator(selector).count()):
        page.locator(selector).nth(i).scroll_into_view_if_needed()
    page.wait_for_function(
        f"() => [...document.querySelectorAll({selector!r})]"
        ".every(i => i.complete && i.naturalWidth > 0 && i.currentSrc)"
    )
    page.evaluate("window.scrollTo(0, 0)")


def box(page: Any, selector: str) -> list[dict[str, float]]:
    return page.eval_on_selector_all(
        selector,
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height, src: e.currentSrc}; })",
    )


def masters(page: Any, served: str, posts: list[str]) -> set[str]:
    """The hero masters the post pages show (what a list page must not load)."""
    found = set()
    for href in posts:
        page.goto(served + href)
        found.add(page.eval_on_selector(".hero img", "i => new URL(i.src).pathname"))
    return found


@pytest.mark.parametrize(
    ("width", "shown"), [(1280, (144, 108)), (375, (80, 80))], ids=["desktop", "phone"]
)
def test_list_thumbnails_are_small_files_in_their_box(
    browser: Any, served: str, width: int, shown: tuple[int, int]
) -> None:
    page = tab(browser, width)
    try:
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url.removeprefix(served)))
        page.goto(served + "/")
        loaded(page, "img.card-thumb")
        thumbs = box(page, "img.card-thumb")
        assert len(thumbs) >= 2
        titles = box(page, ".card-has-image .card-title")
        for thumb, title in zip(thumbs, titles, strict=True):
            assert (round(thumb["width"]), round(thumb["height"])) == shown, thumb
            assert thumb["x"] > title["x"]  # beside the text, in the card's second column
            assert "-480w." in thumb["src"] and thumb["src"].endswith(".webp"), thumb
        images = [u for u in requested if u.startswith("/assets/")]
        posts = page.eval_on_selector_all(
            ".card-has-image .card-title a", "els => els.map(a => a.getAttribute('href'))"
        )
        big = masters(page, served, posts)
        assert big and not big & set(images), (big, images)
    finally:
        page.context.close()


def test_speaker_photos_are_48px(browser: Any, served: str) -> None:
    page = tab(browser, 1280)
    try:
        page.goto(served + "/safer-streets-summit-2026/")
        photos = page.locator("img.speaker-photo")
        loaded(page, "img.speaker-photo")
        found = box(page, "img.speaker-photo")
        assert found
        for photo in found:
            assert (round(photo["width"]), round(photo["height"])) == (48, 48)
            assert "-email." in photo["src"]
        natural = photos.first.evaluate("i => [i.naturalWidth, i.naturalHeight]")
        assert natural[0] == 96  # twice what is shown
    finally:
        page.context.close()


@pytest.mark.parametrize("path", ["/", "/sv/trygghetsdagen-2027/"])
def test_the_language_switch_is_small_and_shows_its_keyboard_focus(
    browser: Any, served: str, path: str
) -> None:
    page = tab(browser, 1280)
    try:
        page.goto(served + path)
        link = page.locator(".lang-switch a")
        body_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        style = link.evaluate(
            "a => { const s = getComputedStyle(a);"
            " return {size: parseFloat(s.fontSize), outline: s.outlineStyle}; }"
        )
        assert style["size"] < body_size and style["outline"] == "none"
        for _ in range(20):  # Tab through the page until the switch has the focus
            page.keyboard.press("Tab")
            if link.evaluate("a => a === document.activeElement"):
                break
        else:
            pytest.fail("Tab never reached the language switch")
        focused = link.evaluate(
            "a => { const s = getComputedStyle(a);"
            " return [a.matches(':focus-visible'), s.outlineStyle, s.outlineWidth]; }"
        )
        assert focused == [True, "solid", "3px"]
    finally:
        page.context.close()
