"""Deterministic generator of synthetic event write-ups for the benchmark.

    python benchmarks/generate.py --posts 1000 --out /tmp/corpus [--format pelican]

Every post has front matter with an event and a newsletter block, a section per
speaker, lists, links, quotes, a table in about 40% of posts, images, and English
or Swedish text. The same seed gives the same corpus byte for byte. With
``--format pelican`` the same posts are written in Pelican's metadata format.
"""

from __future__ import annotations

import argparse
import random
import struct
import zlib
from datetime import datetime, timedelta
from pathlib import Path

WORDS = {  # noqa: SIM905 (a word list reads better as text)
    "en": [
        "safety",
        "community",
        "police",
        "youth",
        "city",
        "council",
        "residents",
        "trust",
        "prevention",
        "street",
        "neighbourhood",
        "evening",
        "volunteers",
        "budget",
        "research",
        "survey",
        "lighting",
        "school",
        "parents",
        "housing",
        "workshop",
        "dialogue",
        "network",
        "programme",
        "results",
        "figures",
        "partnership",
        "local",
        "officers",
        "support",
        "outreach",
        "evaluation",
        "funding",
        "crime",
        "reported",
        "feeling",
        "centre",
    ],
    "sv": [
        "trygghet",
        "samverkan",
        "polis",
        "ungdomar",
        "kommun",
        "invånare",
        "förtroende",
        "förebyggande",
        "gata",
        "stadsdel",
        "kväll",
        "volontärer",
        "budget",
        "forskning",
        "enkät",
        "belysning",
        "skola",
        "föräldrar",
        "boende",
        "workshop",
        "dialog",
        "nätverk",
        "program",
        "resultat",
        "siffror",
        "partnerskap",
        "lokala",
        "poliser",
        "stöd",
        "uppsökande",
        "utvärdering",
        "finansiering",
        "brott",
        "anmälda",
        "känsla",
        "fritidsgård",
    ],
}
NAMES = [
    "Anna Berg",
    "Karin Sjöberg",
    "Amira Haddad",
    "Elin Marttila",
    "Oskar Nyström",
    "Dawit Tesfaye",
    "Jonas Lind",
    "Sara Ek",
    "Mikael Holm",
    "Leila Ahmadi",
    "Per Dahl",
    "Ines Nilsson",
]
ORGS = [
    "Police Region Stockholm",
    "Trygga Kvarter",
    "City of Malmö",
    "Järva Youth Hub",
    "Nordic Institute for Crime Prevention Research",
    "Göteborgs Stad",
    "Fritid Nordost",
]
PLACES = [
    "Folkets Hus, Stockholm",
    "Stadsbiblioteket, Malmö",
    "Järntorget, Göteborg",
    "Kulturhuset, Uppsala",
]


def png_bytes(width: int, height: int, seed: int) -> bytes:
    """A small valid PNG with a colour gradient (no dependencies)."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            row += bytes(
                ((x * 255 // width + seed * 40) % 256, (y * 255 // height) % 256, (seed * 70) % 256)
            )
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 6)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def sentence(rng: random.Random, lang: str, n: int | None = None) -> str:
    words = [rng.choice(WORDS[lang]) for _ in range(n or rng.randint(8, 20))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + rng.choice([".", ".", ".", "!"])


def paragraph(rng: random.Random, lang: str) -> str:
    text = " ".join(sentence(rng, lang) for _ in range(rng.randint(3, 7)))
    if rng.random() < 0.4:
        word, n = rng.choice(WORDS[lang]), rng.randint(1, 999)
        text += f" Read more in [the {word} report](https://example.org/r/{n})."
    if rng.random() < 0.3:
        text += " \"Quoted words\" and 'single quotes' -- with dashes..."
    return text


def table(rng: random.Random) -> str:
    rows = ["| Figure | 2024 | 2025 | Change |", "|---|--:|--:|--:|"]
    for _ in range(rng.randint(3, 6)):
        a, b = rng.randint(10, 900), rng.randint(10, 900)
        rows.append(
            f"| {rng.choice(WORDS['en']).title()} rate | {a} | {b} | {(b - a) * 100 // a:+d}% |"
        )
    return "\n".join(rows)


def make_post(i: int, rng: random.Random, start: datetime, images: list[str]) -> dict:
    lang = "sv" if rng.random() < 0.25 else "en"
    date = start + timedelta(hours=i * 17 + rng.randint(0, 5))
    speakers = rng.sample(NAMES, rng.randint(3, 6))
    title = f"{rng.choice(['Summit', 'Panel', 'Workshop', 'Forum'])} {i}: " + " ".join(
        rng.choice(WORDS[lang]) for _ in range(rng.randint(3, 6))
    )
    photo = f"![{rng.choice(WORDS['en'])} photo {i}](images/{rng.choice(images)})"
    body = [paragraph(rng, lang), photo]
    for name in speakers:
        body.append(f"## {name}, {rng.choice(ORGS)}")
        body.append(paragraph(rng, lang))
        if rng.random() < 0.5:
            body.append("> " + sentence(rng, lang, 18) + "\n>\n> — " + name)
        if rng.random() < 0.4:
            body.append(
                "\n".join(
                    f"- {sentence(rng, lang, rng.randint(4, 10))}" for _ in range(rng.randint(3, 5))
                )
            )
        body.append(paragraph(rng, lang))
    if rng.random() < 0.4:
        body.append(
            "## Key figures\n\n" + table(rng) + "\n\nSource: our survey.[^1]\n\n"
            "[^1]: Preliminary figures."
        )
    body.append(
        "## Next steps\n\n"
        + "\n".join(f"{n}. {sentence(rng, lang, rng.randint(5, 12))}" for n in range(1, 5))
    )
    tags = sorted(
        set(
            rng.sample(
                [
                    "policing",
                    "youth",
                    "trust",
                    "lighting",
                    "housing",
                    "schools",
                    "research",
                    "budget",
                    "volunteers",
                ],
                3,
            )
        )
    )
    return {
        "i": i,
        "lang": lang,
        "title": title,
        "slug": f"post-{i:05d}",
        "date": date,
        "tags": tags,
        "category": rng.choice(["Conference", "Debate", "Workshop"]),
        "summary": sentence(rng, lang, 18),
        "speakers": speakers,
        "image": rng.choice(images),
        "location": rng.choice(PLACES),
        "body": "\n\n".join(body) + "\n",
    }


def postpipe_text(p: dict) -> str:
    speakers = "\n".join(
        f'  - name: {n}\n    talk: "Talk by {n}"\n    affiliation: {ORGS[k % len(ORGS)]}'
        for k, n in enumerate(p["speakers"])
    )
    send_at = (p["date"] + timedelta(days=1)).strftime("%Y-%m-%dT08:00:00+01:00")
    return f"""---
title: "{p["title"]}"
slug: {p["slug"]}
date: {p["date"]:%Y-%m-%d %H:%M}
author: Comms Team
lang: {p["lang"]}
categories: [{p["category"]}]
tags: [{", ".join(p["tags"])}]
summary: "{p["summary"]}"
image: images/{p["image"]}
image_alt: "Photo from event {p["i"]}"
event:
  name: "Event {p["i"]}"
  start: {p["date"] - timedelta(days=2):%Y-%m-%d 09:00}
  end: {p["date"] - timedelta(days=2):%Y-%m-%d 16:00}
  location: "{p["location"]}"
  organisers: [Nordic Safer Communities Network]
speakers:
{speakers}
newsletter:
  subject: "{p["title"][:70]}"
  preheader: "{p["summary"][:90]}"
  send_at: {send_at}
---

{p["body"]}"""


def pelican_text(p: dict) -> str:
    body = p["body"].replace("](images/", "]({static}/images/")
    return (
        f"Title: {p['title']}\nDate: {p['date']:%Y-%m-%d %H:%M}\nSlug: {p['slug']}\n"
        f"Lang: {p['lang']}\nCategory: {p['category']}\nTags: {', '.join(p['tags'])}\n"
        f"Author: Comms Team\nSummary: {p['summary']}\n\n{body}"
    )


def camera_photos(count: int, size: tuple[int, int], out: Path, prefix: str) -> list[str]:
    """``count`` camera-like JPEGs of ``size`` (orientation 6, GPS, a serial number),
    each with its own pixels (so each is processed): what a phone hands the comms team."""
    from PIL import Image

    width, height = size
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    grain = Image.effect_noise((max(1, width // 8), max(1, height // 8)), 24)
    base = Image.merge(
        "RGB", (grain.resize((width, height)), base.getchannel(1), base.getchannel(2))
    )
    names = []
    for k in range(count):
        img = base.copy()
        img.paste((40 * k % 256, 120, 200), (k * 37 % width, 0, k * 37 % width + 200, 200))
        exif = Image.Exif()
        exif[0x0112] = 6
        exif.get_ifd(0x8769)[0xA431] = f"SN-BENCH-{k:05d}"
        exif.get_ifd(0x8825).update({1: "N", 2: (59.0, 19.0, 48.0), 3: "E", 4: (18.0, 4.0, 1.0)})
        name = f"{prefix}-{k}.jpg"
        img.save(out / name, "JPEG", quality=90, exif=exif)
        names.append(name)
    return names


def generate(
    n: int,
    out: Path,
    fmt: str = "postpipe",
    seed: int = 2026,
    photos: int = 0,
    photo_size: tuple[int, int] = (4000, 3000),
) -> Path:
    """Write ``n`` posts (and their images) under ``out``; returns the posts folder.

    With ``photos``, each post gets that many camera-sized photos of its own (the
    hero and the rest in the body) instead of the small shared PNGs."""
    rng = random.Random(seed)
    posts_dir = out / ("posts" if fmt == "postpipe" else "content")
    images_dir = posts_dir / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    images = []
    for k in range(6):
        name = f"photo-{k}.png"
        (images_dir / name).write_bytes(png_bytes(120 + 20 * k, 80, k))
        images.append(name)
    start = datetime(2016, 1, 1, 10, 0)
    for i in range(n):
        p = make_post(i, rng, start, images)
        if photos and fmt == "postpipe":
            own = camera_photos(photos, photo_size, images_dir, f"post-{i:05d}")
            p["image"] = own[0]
            p["body"] += "".join(
                f"\n![Photo {k} of event {i}](images/{n})\n" for k, n in enumerate(own[1:], 1)
            )
        text = postpipe_text(p) if fmt == "postpipe" else pelican_text(p)
        (posts_dir / f"{p['date']:%Y-%m-%d}-{p['slug']}.md").write_text(text, encoding="utf-8")
    return posts_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posts", type=int, default=1000)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--format", choices=["postpipe", "pelican"], default="postpipe")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--photos", type=int, default=0, help="camera photos per post")
    ap.add_argument("--photo-size", type=photo_size, default=(4000, 3000), metavar="WxH")
    args = ap.parse_args()
    print(generate(args.posts, args.out, args.format, args.seed, args.photos, args.photo_size))


def photo_size(text: str) -> tuple[int, int]:
    """``4000x3000`` → (4000, 3000)."""
    w, _, h = text.lower().partition("x")
    if not (w.isdigit() and h.isdigit()):
        raise argparse.ArgumentTypeError(f"'{text}' is not WIDTHxHEIGHT, e.g. 4000x3000")
    return int(w), int(h)


if __name__ == "__main__":
    main()
