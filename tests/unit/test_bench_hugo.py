"""The benchmark's Hugo reference site: the corpus converted so Hugo renders the same posts."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
import hugosite  # noqa: E402
from generate import generate  # noqa: E402


def test_every_post_keeps_its_front_matter_with_a_date_hugo_reads(tmp_path: Path) -> None:
    posts = generate(12, tmp_path / "site")
    out = tmp_path / "hugo"
    hugosite.write_site(posts, out)

    converted = sorted((out / "content" / "posts").glob("*.md"))
    assert [p.name for p in converted] == sorted(p.name for p in posts.glob("*.md"))
    for src, dst in zip(sorted(posts.glob("*.md")), converted, strict=True):
        before = yaml.safe_load(src.read_text(encoding="utf-8").split("\n---\n")[0][4:])
        text = dst.read_text(encoding="utf-8")
        after = yaml.safe_load(text.split("\n---\n")[0][4:])
        # Hugo reads "2016-01-02 08:00" as no date at all; an ISO timestamp it reads
        assert after["date"] == datetime.strptime(before["date"], "%Y-%m-%d %H:%M")
        assert after["image"] == "/" + before["image"]
        assert {k: v for k, v in after.items() if k not in ("date", "image")} == {
            k: v for k, v in before.items() if k not in ("date", "image")
        }
        body = text.split("\n---\n", 1)[1]
        assert "](images/" not in body and "](/images/" in body
    assert sorted(p.name for p in (out / "static" / "images").iterdir()) == sorted(
        p.name for p in (posts / "images").iterdir()
    )
    assert (out / "config.toml").is_file()
    assert (out / "layouts" / "_default" / "single.html").is_file()


@pytest.mark.parametrize(
    "text",
    ["no front matter\n", "---\ntitle: x\ndate: 2016-01-02\n---\nbody\n"],
    ids=["no front matter", "date without a time"],
)
def test_a_post_hugo_would_misread_stops_the_conversion(text: str) -> None:
    with pytest.raises(ValueError):
        hugosite.to_hugo(text)
