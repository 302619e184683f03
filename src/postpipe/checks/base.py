"""What every rule returns: a :class:`Finding` with a level and a stable rule id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

ERROR, WARNING, INFO = "error", "warning", "info"
LEVELS = (ERROR, WARNING, INFO)


@dataclass(frozen=True)
class Finding:
    level: str
    path: str
    line: int | None
    message: str
    hint: str | None = None
    #: the stable rule id (README "Checks"); ``check --json`` prints it
    rule: str = ""
    #: the post's slug, when the finding belongs to a rendered post
    post: str | None = None

    def as_json(self) -> dict[str, object]:
        """The ``check --json`` shape of DESIGN §4."""
        return {
            "post": self.post,
            "path": self.path,
            "line": self.line,
            "level": self.level,
            "rule": self.rule,
            "message": self.message,
            "hint": self.hint,
        }

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def render(self) -> str:
        level = "" if self.level == ERROR else f"{self.level}: "
        text = f"{self.where}: {level}{self.message}"
        return text + (f"\n  hint: {self.hint}" if self.hint else "")


FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_HTML_CODE = re.compile(r"<(code|pre|kbd|samp)\b.*?</\1>", re.I)


def prose_lines(body: str, first_line: int, *, blank_code: bool = True) -> list[tuple[int, str]]:
    """The lines of a Markdown body outside fenced code, with inline code blanked
    (unless ``blank_code`` is false), as (line in the .md file, text)."""
    return list(_prose_lines(body, first_line, blank_code))


@lru_cache(maxsize=16)
def _prose_lines(body: str, first_line: int, blank_code: bool) -> tuple[tuple[int, str], ...]:
    # several rules of one post read its lines: split and blank them once
    out: list[tuple[int, str]] = []
    fence = ""
    for i, text in enumerate(body.split("\n")):
        m = FENCE.match(text)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = ""
            continue
        if m:
            fence = m.group(1)
            continue
        if blank_code:
            if "`" in text:
                text = _CODE_SPAN.sub(lambda c: " " * len(c.group(0)), text)
            if "<" in text:
                text = _HTML_CODE.sub(lambda c: " " * len(c.group(0)), text)
        out.append((first_line + i, text))
    return tuple(out)


def find_line(post: Any, needle: str) -> int | None:
    """The first .md body line (outside code) that holds ``needle``."""
    needle = needle.strip()
    if not needle:
        return None
    for line, text in _prose_lines(post.body, post.body_line, True):
        if needle in text:
            return line
    return None
