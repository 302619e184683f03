"""``postpipe report`` for the ``smtp`` list: delivered and refused from its own
per-recipient ledger (no request anywhere); it knows no opens or clicks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from test_smtp import cli_site

FAKES = Path(__file__).resolve().parent.parent / "fakes"
if str(FAKES) not in sys.path:
    sys.path.insert(0, str(FAKES))
from sitekit import at, describe  # noqa: E402


def test_smtp_report_counts_delivered_and_refused(tmp_path: Path, smtp_server, trust) -> None:  # type: ignore[no-untyped-def]
    server = smtp_server("starttls", refuse={"ann@example.org"})
    csv_path = tmp_path / "list.csv"
    csv_path.write_text(
        "email,name\nann@example.org,Ann\nbo@example.org,Bo\ncy@example.org,Cy\n",
        encoding="utf-8",
    )
    site = cli_site(tmp_path, server, csv_path)
    site.run("send", "--due")
    assert sorted(server.handler.to()) == ["bo@example.org", "cy@example.org"]

    result = site.run("report", "--json", env={"POSTPIPE_NOW": at(hours=1)})
    assert result.returncode == 0, describe(result)
    [row] = json.loads(result.stdout)
    assert (row["slug"], row["list"]) == ("alpha", "smtp")
    assert (row["recipients"], row["delivered"], row["bounces"]) == (3, 2, 1)
    assert row["opens_unique"] is None and row["open_rate"] is None
    assert row["clicks_unique"] is None and row["links"] == []

    text = site.run("report", env={"POSTPIPE_NOW": at(hours=1)}).stdout
    assert "Alpha event recap (alpha)" in text and "via smtp" in text
