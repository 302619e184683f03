"""The sample site, byte for byte, against ``tests/golden/expected/``.

Text outputs (pages, feed, sitemap, newsletters, CSS) are compared byte for
byte; binary assets (images) only by file name, listed in ``binary-files.txt``.
After an intended change of the output, run ``pytest --update-golden`` and
review the diff of ``tests/golden/expected/`` before committing it.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.golden

EXPECTED = Path(__file__).resolve().parent / "expected"
MANIFEST = "binary-files.txt"
TEXT_SUFFIXES = {".html", ".txt", ".xml", ".css", ".json", ".js", ".svg", ".md", ".ics"}
MAX_DIFF_LINES = 120


def is_text(path: Path) -> bool:
    return path.suffix.lower() in TEXT_SUFFIXES


def output_files(out: Path) -> tuple[dict[str, Path], list[str]]:
    """The text files (by relative path) and the binary file names of a build."""
    text: dict[str, Path] = {}
    binary: list[str] = []
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(out).as_posix()
        if is_text(path):
            text[rel] = path
        else:
            binary.append(rel)
    return text, binary


def expected_files() -> tuple[dict[str, Path], list[str]]:
    manifest = EXPECTED / MANIFEST
    text = {p.relative_to(EXPECTED).as_posix(): p for p in sorted(EXPECTED.rglob("*"))
            if p.is_file() and p != manifest}
    binary = manifest.read_text(encoding="utf-8").split() if manifest.is_file() else []
    return text, binary


def update(out: Path) -> None:
    text, binary = output_files(out)
    if EXPECTED.exists():
        shutil.rmtree(EXPECTED)
    EXPECTED.mkdir(parents=True)
    for rel, path in text.items():
        dest = EXPECTED / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(path.read_bytes())
    (EXPECTED / MANIFEST).write_text("".join(f"{name}\n" for name in binary), encoding="utf-8")


def first_difference(actual: dict[str, Path], expected: dict[str, Path]) -> str | None:
    for rel in sorted(actual.keys() & expected.keys()):
        got, want = actual[rel].read_bytes(), expected[rel].read_bytes()
        if got == want:
            continue
        diff = list(difflib.unified_diff(
            want.decode("utf-8", "replace").splitlines(keepends=True),
            got.decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"expected/{rel}", tofile=f"actual/{rel}"))
        if not diff:  # only line endings or a final newline differ
            diff = [f"{rel}: same lines, different bytes (line endings or final newline)\n"]
        shown = "".join(diff[:MAX_DIFF_LINES])
        more = len(diff) - MAX_DIFF_LINES
        return shown + (f"\n... {more} more diff lines\n" if more > 0 else "")
    return None


@pytest.fixture(scope="module")
def golden_build(sample_build):  # type: ignore[no-untyped-def]
    """The sample posts built with the fixed settings of ``SAMPLE_ENV``."""
    return sample_build()


def test_sample_build_matches_golden_files(golden_build, request):
    out = golden_build.out
    if request.config.getoption("--update-golden"):
        update(out)
        return
    assert EXPECTED.is_dir(), (
        f"{EXPECTED} does not exist; run 'pytest tests/golden --update-golden' to create it")
    actual_text, actual_binary = output_files(out)
    expected_text, expected_binary = expected_files()
    hint = "\n(if the change is intended: pytest --update-golden, then review the diff)"

    missing = sorted(expected_text.keys() - actual_text.keys())
    extra = sorted(actual_text.keys() - expected_text.keys())
    assert not missing and not extra, (
        f"output files differ:\n  missing: {missing}\n  unexpected: {extra}{hint}")
    assert actual_binary == expected_binary, (
        "binary assets differ:\n" + "".join(difflib.unified_diff(
            [f"{n}\n" for n in expected_binary], [f"{n}\n" for n in actual_binary],
            fromfile="expected", tofile="actual")) + hint)
    diff = first_difference(actual_text, expected_text)
    assert diff is None, f"output differs from the golden files:\n{diff}{hint}"


def test_build_is_deterministic_and_location_independent(golden_build, tmp_path, settings,
                                                        sample_env):
    """A second build in another folder gives the same bytes, and no build embeds its path."""
    from postpipe.pipeline import build_site

    root = tmp_path / "another" / "root"
    root.mkdir(parents=True)
    shutil.copytree(golden_build.root / "posts", root / "posts")
    out = tmp_path / "another" / "out"
    build_site(settings(root, sample_env), out)
    first_text, first_binary = output_files(golden_build.out)
    second_text, second_binary = output_files(out)
    assert first_binary == second_binary
    assert first_text.keys() == second_text.keys()
    assert first_difference(second_text, first_text) is None
    for path in second_text.values():
        data = path.read_text(encoding="utf-8")
        assert str(tmp_path) not in data, path
        assert str(golden_build.root) not in data, path
