"""The plain-text part's wrapper gives exactly the lines textwrap would."""

from __future__ import annotations

import random
import textwrap

from postpipe.render.email import fill_words

WORDS = ["a", "bb", "ccc", "dddd", "e" * 10, "f" * 30, "https://example.org/" + "x" * 80,
         "g" * 75, "h" * 76, "i" * 77, "-", "a-b", "x--y", "åäö", "“quoted”"]
INDENTS = [("", ""), ("- ", "  "), ("1. ", "   "), ("> ", "> "), ("    ", "    ")]


def test_fill_words_matches_textwrap() -> None:
    rng = random.Random(2026)
    for _ in range(3000):
        words = [rng.choice(WORDS) for _ in range(rng.randint(0, 30))]
        width = rng.choice([20, 40, 72, 76])
        first, rest = rng.choice(INDENTS)
        expected = textwrap.fill(" ".join(words), width, initial_indent=first,
                                 subsequent_indent=rest, break_long_words=False,
                                 break_on_hyphens=False)
        assert fill_words(words, width, first, rest) == expected, (words, width, first)


def test_a_long_url_stands_alone() -> None:
    url = "https://example.org/" + "x" * 80
    assert fill_words(["see", url, "now"], 76) == f"see\n{url}\nnow"
