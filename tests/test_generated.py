"""Every committed generated artifact (``typed_losses.generate.ARTIFACTS``) is up to date."""

from __future__ import annotations

import pytest

from typed_losses.generate import ARTIFACTS, ROOT, stale


@pytest.mark.parametrize("relative", sorted(ARTIFACTS))
def test_artifact_is_not_stale(relative: str) -> None:
    path = ROOT / relative
    assert path.exists(), f"{relative} is missing: run `python -m typed_losses.generate`"
    assert path.read_text(encoding="utf-8") == ARTIFACTS[relative](), (
        f"{relative} is stale: run `python -m typed_losses.generate`"
    )


def test_stale_reports_nothing() -> None:
    assert stale() == []
