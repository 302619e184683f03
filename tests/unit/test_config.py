"""Settings (DESIGN §3): defaults, .env, the real environment wins, fail fast."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest

from postpipe import config
from postpipe.config import FIELDS, env_example, load_settings, parse_duration
from postpipe.errors import ConfigError, ErrorGroup

pytestmark = pytest.mark.unit

SECRET = "s3cr3t-Value-42"


def config_errors(excinfo: pytest.ExceptionInfo) -> list[ConfigError]:
    exc = excinfo.value
    return list(exc.errors) if isinstance(exc, ErrorGroup) else [exc]


def test_defaults(tmp_path):
    s = load_settings(tmp_path, environ={})
    assert s.root == tmp_path.resolve()
    assert s.site_url == "http://localhost:8000"
    assert s.lang == "en"
    assert s.timezone == "UTC"
    assert s.tz.key == "UTC"
    assert s.author == ""
    assert s.from_email == "newsletter@example.invalid"
    assert s.sender_name == s.site_title
    assert s.reply_address == s.from_email
    assert s.unsubscribe_template == "mailto:newsletter@example.invalid?subject=unsubscribe"
    assert s.max_lateness == timedelta(hours=24)
    assert s.inliner == "premailer"
    assert s.utm == "utm_source=newsletter&utm_medium=email&utm_campaign={slug}"
    assert s.cms == "folder"
    assert s.publish_dir == "public"
    assert s.list == "outbox"
    assert s.outbox_dir == "outbox"
    assert s.buttondown_base_url == "https://api.buttondown.com"
    assert s.brevo_base_url == "https://api.brevo.com/v3"
    assert s.smtp_security == "starttls"
    assert s.smtp_rate == 5.0
    assert s.warnings == ()


def test_field_defaults_match_the_settings_defaults(tmp_path):
    """The FIELDS table and the Settings dataclass must not drift apart."""
    s = load_settings(tmp_path, environ={})
    defaults = {f.name: f.default for f in dataclasses.fields(config.Settings)}
    for f in FIELDS:
        assert f.attr in defaults, f.env
        assert getattr(s, f.attr) == defaults[f.attr], f.env


def test_values_are_parsed(tmp_path):
    s = load_settings(tmp_path, environ={
        "POSTPIPE_SITE_URL": "https://news.example.org/",
        "POSTPIPE_MAX_LATENESS": "90m",
        "POSTPIPE_TIMEZONE": "Europe/Stockholm",
        "POSTPIPE_SMTP_RATE": "2.5",
        "POSTPIPE_FROM_NAME": "NSCN",
        "POSTPIPE_REPLY_TO": "reply@example.org",
    })
    assert s.site_url == "https://news.example.org"  # no trailing slash
    assert s.max_lateness == timedelta(minutes=90)
    assert s.tz.key == "Europe/Stockholm"
    assert s.smtp_rate == 2.5
    assert s.sender_name == "NSCN"
    assert s.reply_address == "reply@example.org"


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("15m", 900), ("24h", 86400), ("2d", 172800), ("30", 30), (" 1.5h ", 5400),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_empty_utm_disables_tagging(tmp_path):
    assert load_settings(tmp_path, environ={"POSTPIPE_UTM": ""}).utm == ""


def test_empty_value_means_the_default(tmp_path):
    s = load_settings(tmp_path, environ={"POSTPIPE_LANG": "", "POSTPIPE_SITE_URL": ""})
    assert (s.lang, s.site_url) == ("en", "http://localhost:8000")


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text(
        "# comment\nPOSTPIPE_SITE_TITLE=\"From the file\"\nPOSTPIPE_LANG=sv\n"
        "export POSTPIPE_AUTHOR=Ann Berg\n", encoding="utf-8")
    s = load_settings(tmp_path, environ={})
    assert s.site_title == "From the file"
    assert s.lang == "sv"
    assert s.author == "Ann Berg"


def test_real_environment_wins_over_dotenv(tmp_path):
    (tmp_path / ".env").write_text("POSTPIPE_LANG=sv\nPOSTPIPE_SITE_TITLE=File\n",
                                   encoding="utf-8")
    s = load_settings(tmp_path, environ={"POSTPIPE_LANG": "en"})
    assert s.lang == "en"
    assert s.site_title == "File"


@pytest.mark.parametrize(("env", "value", "expects"), [
    ("POSTPIPE_SITE_URL", "notaurl", "absolute http(s) URL"),
    ("POSTPIPE_MAX_LATENESS", "soon", "duration"),
    ("POSTPIPE_CMS", "wordpres", "did you mean 'wordpress'?"),
    ("POSTPIPE_LIST", "mailchimpp", "did you mean 'mailchimp'?"),
    ("POSTPIPE_INLINER", "css_inline", "did you mean 'css-inline'?"),
    ("POSTPIPE_TIMEZONE", "Europe/Stockholmm", "IANA time zone"),
    ("POSTPIPE_LANG", "Swedish", "language code"),
    ("POSTPIPE_FROM_EMAIL", "news-at-example.org", "email address"),
    ("POSTPIPE_SMTP_RATE", "0", "positive number"),
    ("SMTP_SECURITY", "tls", "starttls"),
    ("WORDPRESS_URL", "example.org", "absolute http(s) URL"),
])
def test_malformed_value_names_the_variable(tmp_path, env, value, expects):
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path, environ={env: value})
    [error] = config_errors(info)
    assert env in error.message
    assert repr(value) in error.message
    assert expects in error.message
    assert error.hint and env in error.hint


def test_malformed_value_in_dotenv_names_the_variable(tmp_path):
    (tmp_path / ".env").write_text("POSTPIPE_MAX_LATENESS=soon\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="POSTPIPE_MAX_LATENESS"):
        load_settings(tmp_path, environ={})


def test_every_malformed_value_is_reported_together(tmp_path):
    with pytest.raises(ErrorGroup) as info:
        load_settings(tmp_path, environ={"POSTPIPE_SITE_URL": "notaurl",
                                         "POSTPIPE_MAX_LATENESS": "soon"})
    names = " ".join(e.message for e in info.value.errors)
    assert "POSTPIPE_SITE_URL" in names and "POSTPIPE_MAX_LATENESS" in names


def test_bad_secret_value_is_never_echoed(tmp_path, monkeypatch):
    """A secret that fails validation is shown as ***."""

    def strict(value: str) -> str:
        raise ValueError("a key in the format <hex>-<dc>")

    fields = tuple(dataclasses.replace(f, parse=strict) if f.env == "MAILCHIMP_API_KEY" else f
                   for f in FIELDS)
    monkeypatch.setattr(config, "FIELDS", fields)
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path, environ={"MAILCHIMP_API_KEY": SECRET})
    [error] = config_errors(info)
    assert "MAILCHIMP_API_KEY" in error.message
    assert "***" in error.message
    assert SECRET not in error.render()
    assert SECRET not in repr(error)


def test_secrets_never_appear_in_errors_or_repr(tmp_path):
    environ = {f.env: SECRET for f in FIELDS if f.secret}
    bad = {**environ, "POSTPIPE_SITE_URL": "notaurl", "POSTPIPE_CMS": "wordpres"}
    with pytest.raises(ErrorGroup) as info:
        load_settings(tmp_path, environ=bad)
    assert SECRET not in info.value.render()
    assert all(SECRET not in e.render() for e in info.value.errors)

    s = load_settings(tmp_path, environ=environ)
    assert SECRET not in repr(s)
    assert s.secrets() == [SECRET] * len(environ)


def test_every_secret_looking_field_is_marked_secret():
    for f in FIELDS:
        if re.search(r"(PASSWORD|TOKEN|API_KEY|SECRET)$", f.env):
            assert f.secret, f.env


def test_require_names_the_missing_variables_not_the_values(tmp_path):
    s = load_settings(tmp_path, environ={"MAILCHIMP_API_KEY": SECRET})
    with pytest.raises(ConfigError) as info:
        s.require("mailchimp_api_key", "mailchimp_list_id", target="mailchimp")
    text = info.value.render()
    assert "MAILCHIMP_LIST_ID" in text
    assert "MAILCHIMP_API_KEY" not in info.value.message
    assert SECRET not in text


def test_unknown_postpipe_variable_warns_with_a_suggestion(tmp_path):
    s = load_settings(tmp_path, environ={"POSTPIPE_SITEURL": "https://x.org",
                                         "POSTPIPE_SITE_TITLE": "ok"})
    assert len(s.warnings) == 1
    assert "POSTPIPE_SITEURL" in s.warnings[0]
    assert "did you mean POSTPIPE_SITE_URL?" in s.warnings[0]
    assert s.site_url == "http://localhost:8000"  # the misspelt one is not used


def test_unknown_variable_in_dotenv_warns(tmp_path):
    (tmp_path / ".env").write_text("POSTPIPE_TIMEZOME=Europe/Stockholm\n", encoding="utf-8")
    s = load_settings(tmp_path, environ={})
    assert s.warnings == ("unknown variable POSTPIPE_TIMEZOME; did you mean POSTPIPE_TIMEZONE?",)


def test_internal_and_foreign_variables_do_not_warn(tmp_path):
    s = load_settings(tmp_path, environ={"POSTPIPE_DEBUG": "1", "POSTPIPE_NOW": "2026-01-01",
                                         "HOME": "/root", "MAILCHIMP_WHATEVER": "x"})
    assert s.warnings == ()


def test_paths_are_relative_to_the_root(tmp_path):
    s = load_settings(tmp_path, environ={"POSTPIPE_OUTBOX_DIR": "mail/out"})
    assert s.path(s.outbox_dir) == tmp_path.resolve() / "mail/out"
    assert s.path("/abs/dir").as_posix() == "/abs/dir"
    assert s.state_dir == tmp_path.resolve() / ".postpipe"


# ---------------------------------------------------------------------------
# documentation stays in sync with FIELDS


def test_env_example_lists_every_variable():
    text = env_example()
    for f in FIELDS:
        assert f"# {f.env}=" in text, f.env
        assert f.doc in text, f.env
    for line in text.splitlines():
        assert SECRET not in line
        assert line == "" or line.startswith("#"), line  # everything commented out


def test_env_example_file_is_generated_from_fields(repo_root):
    path = repo_root / ".env.example"
    assert path.is_file(), ".env.example is missing: write postpipe.config.env_example() to it"
    assert path.read_text(encoding="utf-8") == env_example(), (
        ".env.example is out of date: regenerate it from postpipe.config.env_example()")


def test_readme_documents_every_variable(repo_root):
    path = repo_root / "README.md"
    assert path.is_file(), "README.md is missing"
    readme = path.read_text(encoding="utf-8")
    missing = [f.env for f in FIELDS if f.env not in readme]
    assert missing == [], f"README.md does not mention {missing}"


def test_readme_configuration_table_is_generated_from_fields(repo_root):
    from postpipe.config import readme_with_table

    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    assert "<!-- config-table:start -->" in readme
    assert readme_with_table(readme) == readme, "run `make docs` to regenerate the table"
