"""postpipe's Markdown converter gives the stock Python-Markdown output, faster."""

from __future__ import annotations

import sys
from pathlib import Path

import markdown
import pytest

from postpipe.render.markup import Markup, extensions

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from generate import generate  # noqa: E402

TRICKY = [
    "He said \"hi\" -- and 'bye'... it's the '90s --- \"*em* 'x'\"",
    "[a \"quoted\" link](https://example.org) and `code 'q' -- ...` after",
    "> \"A quote,\" she said. 'Another.'\n>\n> — Name",
    "| a 'b' | \"c\" |\n|---|---|\n| d -- e | f... |",
    "Footnote[^1] with 'quote'.\n\n[^1]: A \"note\" -- here...",
    "*[NSCN]: Nordic \"Safer\" Communities Network\n\nNSCN's work",
    "Plain text with no quotes, dashes or dots in it",
    "Dots. Single dots. Two.. dots. A-dash and a -- pair.",
]


def bodies(tmp_path: Path) -> list[str]:
    generate(60, tmp_path)
    files = sorted((tmp_path / "posts").glob("*.md")) + sorted((REPO / "posts").rglob("*.md"))
    return [f.read_text(encoding="utf-8").split("\n---\n", 1)[1] for f in files] + TRICKY


def test_the_same_html_as_stock_python_markdown(tmp_path: Path) -> None:
    ours = Markup()
    for lang in ("en", "sv"):
        stock = markdown.Markdown(extensions=extensions(lang), output_format="html")
        for text in bodies(tmp_path):
            stock.reset()
            assert ours.convert(text, lang=lang).html == stock.convert(text), text[:200]


@pytest.mark.parametrize("text, expected", [
    ("\"hi\" -- 'yo'...", "&ldquo;hi&rdquo; &ndash; &lsquo;yo&rsquo;&hellip;"),
    ("no marks here", "no marks here"),
])
def test_smarty_still_educates(text: str, expected: str) -> None:
    assert Markup().convert(text).html == f"<p>{expected}</p>"
