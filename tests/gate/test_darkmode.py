"""Text and logos that vanish in a mail client's dark mode (issue 14)."""

from __future__ import annotations

from io import BytesIO

from gatekit import findings
from PIL import Image

TEMPLATE = (
    '<!DOCTYPE html><html lang="{{ lang }}"><body><div lang="{{ lang }}">'
    "{% block x %}{% endblock %}{{ email.body_html }}"
    '<p><a href="{{ email.unsubscribe_url }}">Unsubscribe</a></p></div></body></html>'
)


def with_parts(parts: str) -> dict[str, str | bytes]:
    return {"templates/email/newsletter.html": TEMPLATE.replace(
        "{% block x %}{% endblock %}", parts)}


def test_colour_without_background_and_background_without_colour(tmp_path):
    parts = ('<p style="color:#333333">Dark text on nothing</p>'
             '<table><tr><td bgcolor="#f0f0f0">Grey cell, default text</td></tr></table>')
    out = findings(tmp_path, "Intro.\n", rule="dark-mode", files=with_parts(parts))
    assert [f.level for f in out] == ["warning", "warning"]
    assert "text has a colour but nothing behind it sets a background" in out[0].message
    assert "'Dark text on nothing'" in out[0].message
    assert "a background is set but the text on it has no colour" in out[1].message
    assert "'Grey cell, default text'" in out[1].message


def test_colour_and_background_together_pass(tmp_path):
    parts = ('<table><tr><td bgcolor="#ffffff" style="color:#333333">Both set</td></tr>'
             "</table>")
    assert findings(tmp_path, "Intro.\n", rule="dark-mode", files=with_parts(parts)) == []


def png(colour: tuple[int, int, int], transparent: bool) -> bytes:
    im = Image.new("RGBA", (40, 20), (*colour, 255))
    if transparent:
        for x in range(40):
            for y in range(10):
                im.putpixel((x, y), (0, 0, 0, 0))
    buf = BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_a_dark_logo_on_transparent_is_a_warning(tmp_path):
    body = "Intro.\n\n![Our logo](images/logo.png)\n"
    out = findings(tmp_path, body, rule="dark-mode",
                   files={"posts/images/logo.png": png((20, 20, 30), True)})
    assert [(f.level, f.line) for f in out] == [("warning", 12)]
    assert "'logo.png' is dark on a transparent background" in out[0].message


def test_light_or_opaque_logos_pass(tmp_path):
    body = "Intro.\n\n![Our logo](images/logo.png)\n"
    for i, data in enumerate([png((240, 240, 240), True), png((20, 20, 30), False)]):
        assert findings(tmp_path / str(i), body, rule="dark-mode",
                        files={"posts/images/logo.png": data}) == []
