"""Real CMS adapters with one injected fault, for the crash and partial-failure tests.

``POSTPIPE_CMS=crashing_cms:CrashingWordPress`` (or ``CrashingGhost``) and

* ``CRASH_AFTER_CREATE=<slug>``: the process ends like a SIGKILL (no ledger
  commit, no clean-up) as soon as the CMS answered for that post;
* ``FAIL_SAVE=<slug>``: the request that would create or update that post
  fails with a 503 instead (after its images were uploaded for real).
"""

from __future__ import annotations

import os
from typing import Any

from postpipe.errors import ProviderError
from postpipe.targets.base import PostPush, RemoteRef
from postpipe.targets.ghost import GhostCMS
from postpipe.targets.wordpress import WordPressCMS


class _CrashAfterUpsert:
    def upsert(self, post: PostPush, existing: RemoteRef | None) -> RemoteRef:
        ref = super().upsert(post, existing)  # type: ignore[misc]
        if post.slug == os.environ.get("CRASH_AFTER_CREATE"):
            os._exit(137)
        return ref


def _fail(slug: str) -> None:
    if slug == os.environ.get("FAIL_SAVE"):
        raise ProviderError("HTTP 503 Service Unavailable (injected)", target="test", status=503)


class CrashingWordPress(_CrashAfterUpsert, WordPressCMS):
    def _save(self, post: PostPush, existing: RemoteRef | None, body: dict[str, Any]) -> Any:
        _fail(post.slug)
        return super()._save(post, existing, body)


class CrashingGhost(_CrashAfterUpsert, GhostCMS):
    def _send(self, method: str, path: str, fields: dict[str, Any], **kw: Any) -> Any:
        _fail(fields["slug"])
        return super()._send(method, path, fields, **kw)
