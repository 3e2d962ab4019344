"""`satellite-agent report --classic PAK:SKU[:N]`: what it accepts, and one line when not."""

from __future__ import annotations

from pathlib import Path

import pytest

from satellite.agent.cli import main


@pytest.mark.parametrize("value", ["3300J1", "3300J1:", ":SKU", "P:S:many", "P:S:1:2"])
def test_a_classic_license_that_is_not_pak_sku_is_refused_in_one_line(
        value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--state", str(tmp_path), "report", "--classic", value])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert "is not PAK:SKU or PAK:SKU:N" in err
