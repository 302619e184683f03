"""The WordPress and Ghost adapters without a server: tokens, keys, dates, images, errors.

Their behaviour against the real CMSs is in tests/integration/cms/.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from postpipe.assets import Asset
from postpipe.config import load_settings
from postpipe.errors import ConfigError
from postpipe.targets.base import PostPush, get_cms, rewrite_assets, used_assets
from postpipe.targets.ghost import GhostCMS, admin_token, parse_admin_key
from postpipe.targets.wordpress import WordPressCMS

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
KEY_ID = "6b06d58ffc802f18be71502c"
SECRET_HEX = "076168b163e1bf20fecf21b6df0a216007e4b46b9bad3278a3953481399e2c9f"
WP_ENV = {
    "POSTPIPE_CMS": "wordpress",
    "WORDPRESS_URL": "https://blog.example.org",
    "WORDPRESS_USER": "editor",
    "WORDPRESS_APP_PASSWORD": "abcd efgh ijkl mnop qrst uvwx",
}
GHOST_ENV = {
    "POSTPIPE_CMS": "ghost",
    "GHOST_URL": "https://news.example.org/ghost/",
    "GHOST_ADMIN_API_KEY": f"{KEY_ID}:{SECRET_HEX}",
}


def _b64decode(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def asset(name: str) -> Asset:
    return Asset(source=Path(f"/x/{name}"), name=f"assets/{name}", digest=name * 4, size=None)


def push(
    body: str = "", *, date: datetime = NOW, image: Asset | None = None, assets=()
) -> PostPush:
    return PostPush(
        slug="a-post",
        title="A post",
        date=date,
        scheduled=date > NOW,
        body_html=body,
        summary="",
        tags=(),
        categories=(),
        image=image,
        assets=tuple(assets),
    )


def response(status: int, body: Any) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = json.dumps(body).encode()
    r.headers["Content-Type"] = "application/json"
    return r


# -- Ghost's token and key -------------------------------------------------------------


def test_the_ghost_token_is_an_hs256_jwt_signed_with_the_hex_decoded_secret() -> None:
    token = admin_token(KEY_ID, bytes.fromhex(SECRET_HEX), NOW.timestamp())
    head, payload, signature = token.split(".")
    assert _b64decode(head) == {"alg": "HS256", "typ": "JWT", "kid": KEY_ID}
    claims = _b64decode(payload)
    assert claims == {
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 300,
        "aud": "/admin/",
    }
    expected = hmac.new(
        bytes.fromhex(SECRET_HEX), f"{head}.{payload}".encode(), hashlib.sha256
    ).digest()
    assert base64.urlsafe_b64decode(signature + "=") == expected
    assert "=" not in token  # base64url without padding


@pytest.mark.parametrize(
    "value", ["", "not-a-key", KEY_ID, f"{KEY_ID}:xyz", f"{SECRET_HEX}:{KEY_ID}"]
)
def test_a_malformed_admin_key_is_a_config_error_that_hides_it(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_admin_key(value)
    assert "GHOST_ADMIN_API_KEY" in info.value.render()
    assert SECRET_HEX not in info.value.render()


def test_parse_admin_key() -> None:
    assert parse_admin_key(f" {KEY_ID}:{SECRET_HEX}\n") == (KEY_ID, bytes.fromhex(SECRET_HEX))


# -- construction ------------------------------------------------------------------------


def test_both_cms_are_registered_and_need_their_variables(tmp_path: Path) -> None:
    wp = get_cms(load_settings(tmp_path, environ=WP_ENV))
    assert isinstance(wp, WordPressCMS) and wp.schedules
    ghost = get_cms(load_settings(tmp_path, environ=GHOST_ENV))
    assert isinstance(ghost, GhostCMS) and ghost.schedules
    assert ghost.site == "https://news.example.org"  # the /ghost/ admin suffix is dropped
    with pytest.raises(ConfigError, match="WORDPRESS_USER, WORDPRESS_APP_PASSWORD"):
        get_cms(
            load_settings(
                tmp_path, environ={**WP_ENV, "WORDPRESS_USER": "", "WORDPRESS_APP_PASSWORD": ""}
            )
        )
    with pytest.raises(ConfigError, match="GHOST_ADMIN_API_KEY"):
        get_cms(load_settings(tmp_path, environ={**GHOST_ENV, "GHOST_ADMIN_API_KEY": ""}))
    with pytest.raises(ConfigError, match="GHOST_URL"):
        get_cms(load_settings(tmp_path, environ={**GHOST_ENV, "GHOST_URL": "http://example.org"}))


# -- scheduling ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ahead", "wordpress", "ghost"),
    [
        (timedelta(seconds=-5), "publish", "published"),
        (timedelta(seconds=59), "publish", "published"),
        (timedelta(seconds=60), "future", "published"),
        (timedelta(seconds=129), "future", "published"),
        (timedelta(seconds=130), "future", "scheduled"),
        (timedelta(days=3), "future", "scheduled"),
    ],
)
def test_a_date_too_close_to_schedule_is_published_now(
    tmp_path: Path, ahead: timedelta, wordpress: str, ghost: str
) -> None:
    post = push(date=NOW + ahead)
    wp = WordPressCMS(load_settings(tmp_path, environ=WP_ENV), clock=lambda: NOW)
    gh = GhostCMS(load_settings(tmp_path, environ=GHOST_ENV), clock=lambda: NOW)
    assert wp.status_for(post) == wordpress
    assert gh.status_for(post) == ghost


# -- images ----------------------------------------------------------------------------------


def test_used_assets_are_the_body_images_then_the_hero_each_once() -> None:
    a, b, hero, unused = asset("a.1.jpg"), asset("b.2.png"), asset("h.3.jpg"), asset("u.4.jpg")
    body = (
        '<p><img alt="" src="/blog/assets/a.1.jpg" width="10"></p>'
        '<p><a href="/blog/assets/b.2.png"><img src="/blog/assets/a.1.jpg"></a>'
        '<a href="/blog/other-post/">x</a><img src="https://cdn.example.org/assets/zzz.jpg"></p>'
    )
    post = push(body, image=hero, assets=[a, b, hero, unused])
    assert used_assets(post) == [a, b, hero]
    urls = {a.name: "https://cms.example/u/a.jpg?x=1&y=2", b.name: "https://cms.example/u/b.png"}
    assert rewrite_assets(body, post.assets, urls) == (
        '<p><img alt="" src="https://cms.example/u/a.jpg?x=1&amp;y=2" width="10"></p>'
        '<p><a href="https://cms.example/u/b.png"><img src="https://cms.example/u/a.jpg?x=1&amp;y=2">'
        '</a><a href="/blog/other-post/">x</a><img src="https://cdn.example.org/assets/zzz.jpg"></p>'
    )


# -- errors ------------------------------------------------------------------------------------


def test_wordpress_errors_name_the_variable_or_the_code(tmp_path: Path) -> None:
    wp = WordPressCMS(load_settings(tmp_path, environ=WP_ENV))
    message, hint = wp._explain(
        response(401, {"code": "rest_not_logged_in", "message": "You are not currently logged in."})
    )
    assert message.startswith(
        "WordPress rejected the application password for user 'editor' at "
        "https://blog.example.org: check WORDPRESS_APP_PASSWORD"
    )
    assert hint and "Application Passwords" in hint
    message, hint = wp._explain(
        response(
            400,
            {
                "code": "rest_invalid_param",
                "message": "Invalid parameter(s): status",
                "data": {"status": 400, "params": {"status": "status is not one of publish."}},
            },
        )
    )
    assert message == (
        "rest_invalid_param: Invalid parameter(s): status (status: status is not one of publish.)"
    )
    assert hint is None


def test_ghost_errors_name_the_variable_or_the_type_and_context(tmp_path: Path) -> None:
    gh = GhostCMS(load_settings(tmp_path, environ=GHOST_ENV))
    message, _ = gh._explain(
        response(
            401,
            {
                "errors": [
                    {
                        "type": "UnauthorizedError",
                        "code": "INVALID_JWT",
                        "message": "Invalid token: invalid signature",
                        "context": None,
                    }
                ]
            },
        )
    )
    assert message == (
        f"Ghost rejected the Admin API key {KEY_ID} at https://news.example.org: check "
        "GHOST_ADMIN_API_KEY (UnauthorizedError INVALID_JWT: Invalid token: invalid signature)"
    )
    message, _ = gh._explain(
        response(
            422,
            {
                "errors": [
                    {
                        "type": "ValidationError",
                        "code": None,
                        "message": "Validation error, cannot save post.",
                        "context": "Value in [posts.custom_excerpt] exceeds maximum length.",
                    }
                ]
            },
        )
    )
    assert message == (
        "ValidationError: Validation error, cannot save post. "
        "(Value in [posts.custom_excerpt] exceeds maximum length.)"
    )
