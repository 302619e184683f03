"""Fixtures of the provider contract tests (helpers in ``listkit.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from listkit import FAKE_CLASSES, FakeProvider, Harness


@pytest.fixture(params=sorted(FAKE_CLASSES))
def provider(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """Each of the four HTTP providers on its fake."""
    with FAKE_CLASSES[request.param]() as fake:
        yield Harness(request.param, fake, tmp_path)


@pytest.fixture
def make_harness(tmp_path: Path) -> Iterator[Callable[..., Harness]]:
    """``make_harness("brevo", hourly=5)``: one provider's fake with options."""
    started: list[FakeProvider] = []

    def make(name: str, **options: Any) -> Harness:
        fake = FAKE_CLASSES[name](**options)  # type: ignore[call-arg]
        fake.start()
        started.append(fake)
        return Harness(name, fake, tmp_path)

    yield make
    for fake in started:
        fake.stop()
