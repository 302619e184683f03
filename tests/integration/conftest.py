"""Fixtures of the publishing tests (helpers live in ``tests/fakes/sitekit.py``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

FAKES = Path(__file__).resolve().parent.parent / "fakes"
if str(FAKES) not in sys.path:  # listapi, sitekit; fakelist_target for postpipe runs
    sys.path.insert(0, str(FAKES))

from listapi import FakeListServer  # noqa: E402
from sitekit import API, FAKELIST, InProcessAPI, ListAPIProcess, Site, base_env  # noqa: E402


@pytest.fixture
def listapi() -> Iterator[InProcessAPI]:
    """The fake list API in a thread of the test process."""
    with FakeListServer() as server:
        yield InProcessAPI(server)


@pytest.fixture
def listapi_process(tmp_path: Path) -> Iterator[Callable[..., ListAPIProcess]]:
    """Factory: the fake list API as its own process (it outlives a killed client)."""
    started: list[ListAPIProcess] = []

    def start(**kw: Any) -> ListAPIProcess:
        api = ListAPIProcess(tmp_path / f"listapi{len(started)}", **kw)
        started.append(api)
        return api

    yield start
    for api in started:
        api.stop()


@pytest.fixture
def pp_site(tmp_path: Path) -> Callable[..., Site]:
    """Factory: ``pp_site({"a.md": text}, api=listapi)`` → a :class:`~sitekit.Site`.

    With ``api`` the list target is the fake list API (``FakeList``); without,
    the built-in ``outbox``. ``env`` adds or overrides variables.
    """
    counter = iter(range(1000))

    def make(
        posts: Mapping[str, str],
        *,
        api: API | None = None,
        env: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> Site:
        root = tmp_path / (name or f"site{next(counter)}")
        (root / "posts").mkdir(parents=True)
        for rel, text in posts.items():
            path = root / "posts" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        environ = base_env(tmp_path)
        if api is not None:
            environ.update(POSTPIPE_LIST=FAKELIST, FAKELIST_URL=api.url, FAKELIST_TOKEN=api.token)
        environ.update(env or {})
        return Site(root=root, env=environ, api=api)

    return make
