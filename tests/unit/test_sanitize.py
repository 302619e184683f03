"""Raw HTML in a post body: the blog keeps it with a warning; the email and the feed
get it sanitised (no script, frame, plug-in, event handler or script URL)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from postpipe.render.links import parse_fragment, serialize_children
from postpipe.render.markup import Markup
from postpipe.render.sanitize import sanitize, unsafe_parts

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from generate import generate  # noqa: E402

from test_cli import clean_env  # noqa: E402

FRONT = (
    "title: Raw HTML\n"
    "date: 2026-10-22 10:00\n"
    "summary: A post with raw HTML in its body.\n"
    "newsletter:\n"
    "  subject: Raw HTML\n"
    "  preheader: A post with raw HTML in its body, for the sanitiser to clean up\n"
)
BODY = [
    "Before the dangers.",
    "",
    "<script>alert('boom')</script>",
    "",
    '<p>An image: <img src="https://example.org/x.png" alt="x" onerror="alert(1)"></p>',
    "",
    "A [link](javascript:alert(2)) and <a href=\"vbscript:msgbox(3)\">another</a>.",
    "",
    '<iframe src="https://evil.example/frame"></iframe>',
    "",
    '<object data="https://evil.example/x.swf">fallback</object>',
    "",
    '<embed src="https://evil.example/y.swf">',
    "",
    '<p onclick="steal()">Click me</p>',
    "",
    '<a href="data:text/html;base64,PHNjcmlwdD4=">data</a>',
    "",
    "```html",
    "<script>shown as code, not run</script>",
    "```",
    "",
    "After the dangers.",
]
BODY_LINE = 10  # "---", 6 front matter lines, "---", a blank line, then BODY[0]
#: (.md line, what the warning names): BODY[k] is on line BODY_LINE + k
EXPECTED_WARNINGS = [
    (BODY_LINE + 2, "<script>"),
    (BODY_LINE + 4, "onerror= on <img>"),
    (BODY_LINE + 6, "javascript: URL in <a href>"),
    (BODY_LINE + 6, "vbscript: URL in <a href>"),
    (BODY_LINE + 8, "<iframe>"),
    (BODY_LINE + 10, "<object>"),
    (BODY_LINE + 12, "<embed>"),
    (BODY_LINE + 14, "onclick= on <p>"),
    (BODY_LINE + 16, "data:text/html URL in <a href>"),
]
UNSAFE = ("<script", "<iframe", "<object", "<embed", "onerror", "onclick", "javascript:",
          "vbscript:", "data:text/html", "alert(", "steal(", "x.swf", "y.swf", "evil.example")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "postpipe", *args], env=clean_env(),
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, write_site, post_text) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("raw-html")
    text = post_text(FRONT, "\n".join(BODY) + "\n")
    assert text.split("\n")[BODY_LINE - 1] == BODY[0]
    write_site(root, {"2026-10-22-raw-html.md": text},
               files={".env": "POSTPIPE_SITE_URL=https://news.example.org\n"
                              "POSTPIPE_FROM_EMAIL=news@example.org\n"})
    return root


@pytest.fixture(scope="module")
def built(site: Path) -> Path:
    result = run("build", "--root", str(site))
    assert result.returncode == 0, result.stdout + result.stderr
    return site / "build"


def test_check_warns_with_the_line_of_each_unsafe_part(site: Path) -> None:
    result = run("check", "--root", str(site))
    assert result.returncode == 0, result.stdout + result.stderr  # a warning, not an error
    out = result.stdout + result.stderr
    found = [line for line in out.splitlines() if "unsafe HTML" in line]
    want = [f"posts/2026-10-22-raw-html.md:{n}: warning: unsafe HTML in the body: {what}"
            for n, what in EXPECTED_WARNINGS]
    assert found == want, out
    assert "no mail client runs scripts; it is removed from the email" in out
    assert "Traceback" not in out
    strict = run("check", "--strict", "--root", str(site))
    assert strict.returncode == 1


def test_the_blog_page_keeps_what_the_author_wrote(built: Path) -> None:
    page = (built / "site/raw-html/index.html").read_text(encoding="utf-8")
    for kept in ("<script>alert('boom')</script>", 'onerror="alert(1)"', "javascript:alert(2)",
                 "<iframe", 'onclick="steal()"'):
        assert kept in page


def test_the_email_has_none_of_it(built: Path) -> None:
    [html] = (built / "newsletters").glob("*.html")
    [text] = (built / "newsletters").glob("*.txt")
    mail, plain = html.read_text(encoding="utf-8"), text.read_text(encoding="utf-8")
    # the code block shows "<script>…" as text: in the HTML escaped, in the text part as is
    plain_outside_code = "\n".join(ln for ln in plain.split("\n") if "shown as code" not in ln)
    for bad in UNSAFE:
        assert bad not in mail, bad
        assert bad not in plain_outside_code, bad
    assert "&lt;script&gt;shown as code, not run&lt;/script&gt;" in mail
    for kept in ("Before the dangers.", "After the dangers.", "Click me", "another",
                 'src="https://example.org/x.png"', "shown as code, not run"):
        assert kept in mail, kept
    assert "Click me" in plain and "After the dangers." in plain


def test_the_feed_has_none_of_it(built: Path) -> None:
    feed = (built / "site/feed.xml").read_text(encoding="utf-8")
    for bad in UNSAFE:
        assert bad not in feed, bad
        assert bad.replace("<", "&lt;") not in feed, bad
    assert "After the dangers." in feed
    assert "shown as code, not run" in feed  # the code block, escaped, is content


# ---------------------------------------------------------------------------
# the sanitiser itself


@pytest.mark.parametrize("html", [
    "<p>x<script>alert(1)</script></p>",
    "<p>x<SCRIPT src=//evil.example/a.js></SCRIPT></p>",
    '<p><img src=x onerror=alert(1) alt=""></p>',
    '<p><img/onerror=alert(1) src=x alt=""></p>',
    '<p><a href="  JaVaScRiPt:alert(1)">x</a></p>',
    '<p><a href="java&#x09;script:alert(1)">x</a></p>',
    '<p><a href="&#106;avascript:alert(1)">x</a></p>',
    '<p><a href="javascript&colon;alert(1)">x</a></p>',
    '<p><a href="vbscript:msgbox(1)">x</a></p>',
    '<p><a href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">x</a></p>',
    '<p><img src="data:text/html;base64,PHNjcmlwdD4=" alt=""></p>',
    '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    '<object data="x.swf"><param name=a value=b></object>',
    '<embed src="x.swf">',
    '<svg onload=alert(1)><script>alert(2)</script></svg>',
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(2)">b</button></form>',
    '<p style="width: expression(alert(1))">x</p>',
    '<details open ontoggle=alert(1)><summary>s</summary></details>',
])
def test_each_trick_is_named_and_removed(html: str) -> None:
    assert unsafe_parts(html), html
    clean = sanitize(html).lower()
    for bad in ("script", "alert", "onerror", "onload", "ontoggle", "expression", "swf",
                "<iframe", "<object", "<embed", "msgbox", "data:text"):
        assert bad not in clean, (html, clean)


@pytest.mark.parametrize("html", [
    '<p><img src="data:image/png;base64,iVBORw0KGgo=" alt="dot"></p>',
    '<p><a href="mailto:a@example.org">a</a> <a href="tel:+46123">t</a></p>',
    '<p>Only text with a "script" word, once = twice, and data: plain.</p>',
    '<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></pre>',
])
def test_harmless_html_is_not_named_and_kept(html: str) -> None:
    assert unsafe_parts(html) == []
    assert serialize_children(parse_fragment(sanitize(html))) == html


TRICKY = [
    "| a 'b' | \"c\" |\n|:---|---:|\n| d -- e | [f](https://example.org \"T\") |",
    "Footnote[^1] with 'quote'.\n\n[^1]: A \"note\" -- here...",
    "*[NSCN]: Nordic \"Safer\" Communities Network\n\nNSCN's work",
    "Term\n:   Definition *one*\n\nOther\n:   Two",
    "## A heading {: #custom .cls }\n\nA paragraph {: style=\"color: red\" }",
    "```python\nprint('<b>')\n```\n\n    indented code",
    "<div markdown=\"1\">\n*inside*\n</div>\n\n<figure><img src=\"a.png\" alt=\"A\" width=\"10\" "
    "height=\"5\" style=\"max-width:100%\"><figcaption>Cap</figcaption></figure>",
    # (a raw table needs its <tbody>: the sanitiser's HTML5 parser adds a missing one)
    "<table class=\"t\"><tbody><tr><td colspan=\"2\" align=\"right\">x</td></tr></tbody>"
    "</table>",
    "Text<br>\nbreak, <kbd>Ctrl</kbd>, <mark>m</mark>, <sub>2</sub>, <small>s</small>, "
    "<abbr title=\"T\">T</abbr>, <time datetime=\"2026-01-01\">day</time>",
    # (a bare boolean attribute comes out as reversed="", which means the same)
    "<ol start=\"3\" reversed=\"\"><li value=\"7\">x</li></ol>\n\n<a href=\"#top\" id=\"a\" "
    "name=\"n\" title=\"t\" target=\"_blank\" rel=\"me\">top</a>",
    "1. one\n2. two\n\n- a\n- b\n\n> quote\n\n---\n\n![alt](https://example.org/i.png \"t\")",
]


def test_everything_markdown_makes_passes_unchanged(tmp_path: Path) -> None:
    """The email and the feed of every ordinary post are what they were before."""
    generate(40, tmp_path)
    files = sorted((tmp_path / "posts").glob("*.md")) + sorted((REPO / "posts").rglob("*.md"))
    texts = [f.read_text(encoding="utf-8").split("\n---\n", 1)[1] for f in files] + TRICKY
    md = Markup()
    for text in texts:
        html = md.convert(text).html
        assert unsafe_parts(html) == [], text[:200]
        before = serialize_children(parse_fragment(html))
        assert serialize_children(parse_fragment(sanitize(html))) == before, text[:200]
