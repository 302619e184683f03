"""Client support from the shipped caniemail data (issue 14)."""

from __future__ import annotations

import json
from importlib import resources

from gatekit import findings

from postpipe.checks.clients import CLIENTS, css_features, data, support_report

TEMPLATE = (
    '<!DOCTYPE html><html lang="{{ lang }}"><head><style>X</style></head><body>'
    '<div lang="{{ lang }}">{% block x %}{% endblock %}{{ email.body_html }}'
    '<p><a href="{{ email.unsubscribe_url }}">Unsubscribe</a></p></div></body></html>'
)


def template(parts: str, style: str = "") -> dict[str, str | bytes]:
    return {"templates/email/newsletter.html": TEMPLATE.replace(
        "{% block x %}{% endblock %}", parts).replace("X", style)}


def test_the_shipped_data_is_caniemails_with_version_date_and_licence():
    d = data()
    assert d["source"].startswith("npm caniemail@") and d["package_version"]
    assert d["api_version"] and d["last_update_date"].startswith("20")
    assert set(d["clients"]) == set(CLIENTS)
    assert len(d["features"]) > 250
    radius = d["features"]["css-border-radius"]
    assert radius["url"] == "https://www.caniemail.com/features/css-border-radius/"
    assert radius["support"]["outlook-windows"][0] == "n"  # the Word engine
    assert radius["support"]["apple-mail-ios"][0] == "y"
    licence = resources.files("postpipe.checks").joinpath("data/CANIEMAIL-LICENSE")
    text = licence.read_text("utf-8")
    assert "MIT License" in text and "HTeuMeuLeu" in text
    json.dumps(d)  # plain JSON all through


def test_css_properties_map_to_features():
    assert css_features("padding-left", "20px") == ["css-padding"]
    assert css_features("border-top-color", "#fff") == ["css-border"]
    assert css_features("display", "flex") == ["css-display-flex"]
    assert css_features("display", "none !important") == ["css-display-none", "css-important"]
    assert css_features("-webkit-text-size-adjust", "100%") == []
    assert css_features("mso-line-height-rule", "exactly") == []


def test_a_layout_feature_without_fallback_is_an_error(tmp_path):
    parts = '<div style="display:flex"><p>One</p><p>Two</p></div>'
    out = findings(tmp_path, "Intro.\n", rule="client-support", files=template(parts))
    errors = [f for f in out if f.level == "error"]
    assert len(errors) == 1
    assert errors[0].message.startswith("Outlook Windows ignores 'display:flex'")
    assert "no fallback" in errors[0].message
    assert "caniemail.com/features/css-display-flex" in errors[0].hint


def test_an_mso_conditional_table_is_the_fallback(tmp_path):
    parts = ('<!--[if mso]><table role="presentation"><tr><td><![endif]-->'
             '<div style="display:flex"><p>One</p><p>Two</p></div>'
             "<!--[if mso]></td></tr></table><![endif]-->")
    out = findings(tmp_path, "Intro.\n", rule="client-support", files=template(parts))
    assert [f for f in out if f.level == "error"] == []


def test_position_has_no_fallback(tmp_path):
    parts = '<div style="position:relative;top:2px">Badge</div>'
    report = support_report("<html><body>" + parts + "</body></html>")
    assert {"gmail-web", "outlook-windows"} <= set(report.layout)
    out = findings(tmp_path, "Intro.\n", rule="client-support", files=template(parts))
    assert any(f.level == "error" and "'position'" in f.message for f in out)


def test_cosmetic_features_are_one_info_line(tmp_path):
    parts = ('<table role="presentation" width="100%"><tr><td style="border-radius:6px;'
             'box-shadow:0 1px 2px #000;max-width:600px" width="600">Card</td></tr></table>')
    out = findings(tmp_path, "Intro.\n", rule="client-support", files=template(parts))
    assert [f.level for f in out] == ["info"]
    assert "Outlook Windows: border-radius, box-shadow" in out[0].message
    assert "Gmail (web): box-shadow" in out[0].message


def test_media_queries_are_progressive(tmp_path):
    style = "@media (max-width:480px){.x{display:block!important;width:100%!important}}"
    out = findings(tmp_path, "Intro.\n", rule="client-support",
                   files=template('<p class="x">Hi</p>', style))
    assert [f.level for f in out] == ["info"]
    assert "Outlook Windows: @media" in out[0].message


def test_the_summary_names_every_client():
    rows = support_report("<html><body><p style='box-shadow:0 0 1px red'>x</p></body></html>"
                          ).summary()
    assert [r["client"] for r in rows][:3] == ["Gmail (web)", "Gmail (iOS)", "Gmail (Android)"]
    by = {r["client"]: r for r in rows}
    assert by["Outlook Windows"]["cosmetic"] == ["box-shadow"]
    assert by["Apple Mail (iOS)"] == {"client": "Apple Mail (iOS)", "layout": [],
                                      "cosmetic": []}
