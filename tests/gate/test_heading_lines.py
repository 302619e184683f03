"""The .md line a heading finding names (check_headings' source lines)."""

from __future__ import annotations

from gatekit import FRONT, findings


def test_a_rule_after_a_code_fence_is_no_setext_heading(tmp_path):
    """'---' right after a closing fence is a rule, not the underline of the fence:
    the finding names the line of the real heading below it."""
    body = "Intro.\n\n```\ncode\n```\n---\n\n# A heading by mistake\n"
    [found] = findings(tmp_path, body, "heading-h1")
    lines = ("---\n" + FRONT + "---\n\n" + body).split("\n")
    assert found.line == lines.index("# A heading by mistake") + 1


def test_setext_and_atx_headings_outside_code_keep_their_lines(tmp_path):
    body = "`code`\n===\n\n```\n# not a heading\n```\n\n# Second\n"
    found = findings(tmp_path, body, "heading-h1")
    first = FRONT.count("\n") + 4  # '---', the front matter, '---', a blank line
    assert [f.line for f in found] == [first, first + 7]
