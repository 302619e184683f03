"""postpipe against Pelican and Hugo on the same synthetic corpus, in one run.

    python benchmarks/run.py --posts 1000 [--repeat 3] [--json benchmarks/results.json]

Times (median of --repeat runs, min and max shown as the machine's noise):
Pelican building the posts (blog only, default theme); Hugo building them (blog
only, a minimal layout set written by ``hugosite.py``), cold and again with nothing
changed; ``postpipe build`` cold with premailer and with css-inline; a no-op
rebuild; a rebuild after editing one post; ``postpipe publish`` with nothing
changed (folder and outbox targets). Peak RSS of each command is read from
``getrusage`` of its process tree. ``--compare PYTHON`` adds a cold build by
another installed postpipe (an earlier release's venv) on the same corpus. Every
ratio is against Pelican, and against postpipe's cold css-inline build, measured
in the same run. Hugo is Debian's
``hugo`` package: without it the Hugo rows are left out with a note, except under
CI (``CI=true``), where a missing ``hugo`` is an error. Not a test: the numbers
depend on the machine; CI runs it at a tiny size only to prove it works.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import hugosite  # noqa: E402
from generate import generate, photo_size  # noqa: E402

PELICANCONF = """\
AUTHOR = "Comms Team"
SITENAME = "Benchmark"
SITEURL = ""
PATH = "content"
TIMEZONE = "Europe/Stockholm"
DEFAULT_LANG = "en"
STATIC_PATHS = ["images"]
FEED_ALL_ATOM = "feeds/all.atom.xml"
CATEGORY_FEED_ATOM = "feeds/{slug}.atom.xml"
DEFAULT_PAGINATION = 10
RELATIVE_URLS = False
"""

RSS_WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "t = time.perf_counter() - t\n"
    "print(t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)\n"
)


def measure(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command and its children."""
    out = subprocess.run(
        [sys.executable, "-c", RSS_WRAPPER, *cmd],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, rss_kb, rc = out.stdout.split()
    if rc != "0":
        raise SystemExit(f"command failed ({rc}): {' '.join(cmd)}\n{out.stderr}")
    return float(seconds), int(rss_kb) / 1024


def median_of(runs: list[tuple[float, float]]) -> dict[str, float]:
    times = [t for t, _ in runs]
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "peak_rss_mb": max(r for _, r in runs),
    }


def find_hugo() -> str | None:
    """The ``hugo`` binary, or None outside CI; under CI a missing one stops the run."""
    hugo = shutil.which("hugo")
    if hugo is None and os.environ.get("CI", "").lower() == "true":
        raise SystemExit(
            "benchmark: hugo is not installed, and CI=true needs the Hugo reference row.\n"
            "  hint: apt-get install hugo (Debian's package), or unset CI to leave the row out"
        )
    return hugo


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--posts", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, default=HERE / "results.json")
    ap.add_argument("--keep", action="store_true", help="keep the temporary corpus")
    ap.add_argument(
        "--photos",
        type=int,
        default=0,
        help="also build a corpus with this many camera photos per post (0: no image rows)",
    )
    ap.add_argument("--photo-size", type=photo_size, default=(4000, 3000), metavar="WxH")
    ap.add_argument("--photo-posts", type=int, default=50, help="posts of the photo corpus")
    ap.add_argument(
        "--compare",
        type=Path,
        metavar="PYTHON",
        help="also time a cold css-inline build by the postpipe installed for this Python "
        "(e.g. a venv of an earlier release), on the same corpus in the same run",
    )
    ap.add_argument("--compare-label", default="", help="its name in the table (e.g. 0.1)")
    args = ap.parse_args()

    hugo = find_hugo()
    work = Path(tempfile.mkdtemp(prefix="postpipe-bench-"))
    site = work / "site"
    generate(args.posts, site, "postpipe")
    generate(args.posts, work / "pelican", "pelican")
    (work / "pelican" / "pelicanconf.py").write_text(PELICANCONF)
    if hugo:
        stylesheet = HERE.parent / "src" / "postpipe" / "templates" / "static" / "style.css"
        hugosite.write_site(site / "posts", work / "hugo", stylesheet)
    py = sys.executable
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("POSTPIPE_")}
    base_env["POSTPIPE_SITE_URL"] = "https://bench.example.org"
    results: dict[str, dict[str, float]] = {}

    def run(
        name: str, cmd: list[str], cwd: Path, env: dict[str, str] | None = None, before=None
    ) -> None:  # type: ignore[no-untyped-def]
        runs = []
        for _ in range(args.repeat):
            if before:
                before()
            runs.append(measure(cmd, env or base_env, cwd))
        results[name] = median_of(runs)
        r = results[name]
        print(
            f"  {name:<34} {r['median_s']:7.2f} s  (min {r['min_s']:.2f}, max "
            f"{r['max_s']:.2f})  {r['peak_rss_mb']:6.0f} MB",
            flush=True,
        )

    def clean_pelican() -> None:
        shutil.rmtree(work / "pelican" / "out", ignore_errors=True)

    def clean_hugo() -> None:
        for d in ("public", "resources"):
            shutil.rmtree(work / "hugo" / d, ignore_errors=True)

    def clean_postpipe() -> None:
        for d in ("build", ".postpipe", "public", "outbox"):
            shutil.rmtree(site / d, ignore_errors=True)

    print(f"corpus: {args.posts} posts in {work}; {os.cpu_count()} cores", flush=True)
    try:
        import pelican  # noqa: F401

        run(
            "pelican",
            [py, "-m", "pelican", "content", "-o", "out", "-s", "pelicanconf.py", "-q"],
            work / "pelican",
            before=clean_pelican,
        )
    except ImportError:
        print("  pelican is not installed: pip install 'postpipe[bench]'", flush=True)

    if hugo:
        print(f"  ({hugosite.version(hugo)})", flush=True)
        hugo_cmd = [hugo, "--quiet", "--cacheDir", str(work / "hugo-cache")]
        run("hugo cold", hugo_cmd, work / "hugo", before=clean_hugo)
        run("hugo no-op", hugo_cmd, work / "hugo")
    else:
        print("  hugo is not installed (apt-get install hugo): no Hugo rows", flush=True)

    build = [py, "-m", "postpipe", "build", "-q"]
    css_env = {**base_env, "POSTPIPE_INLINER": "css-inline"}
    if args.compare:
        other = (
            args.compare_label
            or subprocess.run(
                [str(args.compare), "-c", "import postpipe; print(postpipe.__version__)"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        cmd = [str(args.compare), "-m", "postpipe", "build", "-q"]
        run(f"build cold (css-inline), {other}", cmd, site, css_env, before=clean_postpipe)
    run("build cold (premailer)", build, site, before=clean_postpipe)
    run("build cold (css-inline)", build, site, css_env, before=clean_postpipe)
    run("build no-op (css-inline)", build, site, css_env)
    edited = sorted((site / "posts").glob("*.md"))[len(list((site / "posts").glob("*.md"))) // 2]
    original = edited.read_text(encoding="utf-8")
    counter = iter(range(10**6))

    def edit_one() -> None:
        edited.write_text(original + f"\nEdited paragraph {next(counter)}.\n", encoding="utf-8")

    run("build one edited post (css-inline)", build, site, css_env, before=edit_one)
    edited.write_text(original, encoding="utf-8")
    publish = [py, "-m", "postpipe", "publish", "-q"]
    subprocess.run(publish, cwd=site, env=css_env, check=True, stdout=subprocess.DEVNULL)
    run("publish nothing changed", publish, site, css_env)
    writes = subprocess.run(
        [py, "-m", "postpipe", "publish"],
        cwd=site,
        env=css_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    if args.photos:
        photo_site = work / "photos"
        generate(
            args.photo_posts, photo_site, "postpipe", photos=args.photos, photo_size=args.photo_size
        )
        w, h = args.photo_size
        print(
            f"photo corpus: {args.photo_posts} posts × {args.photos} photos of {w}×{h}", flush=True
        )

        def clean_photos() -> None:
            for d in ("build", ".postpipe"):
                shutil.rmtree(photo_site / d, ignore_errors=True)

        run("build cold with photos (css-inline)", build, photo_site, css_env, before=clean_photos)
        run("build no-op with photos (css-inline)", build, photo_site, css_env)

    table = []
    peer = results.get("pelican", {}).get("median_s")
    cold = results["build cold (css-inline)"]["median_s"]
    print(f"\n{'step':<36} {'median s':>9} {'× Pelican':>10} {'× postpipe':>11} {'RSS MB':>7}")
    for name, r in results.items():
        ratio = r["median_s"] / peer if peer else None
        r["ratio_to_pelican"] = ratio  # type: ignore[assignment]
        r["ratio_to_postpipe"] = r["median_s"] / cold
        table.append({"step": name, **r})
        print(
            f"{name:<36} {r['median_s']:9.2f} "
            f"{(f'{ratio:.2f}×' if ratio else '-'):>10} {r['ratio_to_postpipe']:10.2f}× "
            f"{r['peak_rss_mb']:7.0f}"
        )
    print("(× postpipe: against `postpipe build` cold with css-inline)")
    if hugo:
        noop = results["build no-op (css-inline)"]["median_s"]
        hugo_cold, hugo_noop = results["hugo cold"]["median_s"], results["hugo no-op"]["median_s"]
        print(
            f"postpipe cold (css-inline) / Hugo cold: {cold / hugo_cold:.1f}×;"
            f" postpipe no-op / Hugo no-op: {noop / hugo_noop:.2f}×"
        )
    print(f"\nsecond publish said: {writes!r}")
    args.json.write_text(
        json.dumps(
            {
                "posts": args.posts,
                "photos": {
                    "posts": args.photo_posts,
                    "per_post": args.photos,
                    "size": list(args.photo_size),
                }
                if args.photos
                else None,
                "repeat": args.repeat,
                "cores": os.cpu_count(),
                "hugo": hugosite.version(hugo) if hugo else None,
                "results": table,
                "publish_output": writes,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written: {args.json}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
