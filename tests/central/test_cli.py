from __future__ import annotations

from pathlib import Path

import pytest

from satellite.central.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_entitle_prints_the_line_id_and_refuses_bad_input_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path / "c")
    assert run(capsys, "init", "--dir", d)[0] == 0
    code, out, _ = run(capsys, "entitle", "--dir", d, "--account", "abc.xyz.com", "--tag", "t",
                       "--quantity", "3", "--type", "DEMO")
    assert code == 0 and len(out.strip()) == 32
    code, _, err = run(capsys, "entitle", "--dir", d, "--account", "abc.xyz.com", "--tag", "t",
                       "--quantity", "3", "--type", "TERM", "--start", "2026-01-01")
    assert code == 2
    assert err.startswith("satellite-central: error: entitlement line ")
    assert err.count("\n") == 1 and err.endswith("a TERM license needs a start and an end date\n")
    code, out, _ = run(capsys, "entitlements", "--dir", d)
    assert code == 0 and out.count("\n") == 1
    code, _, err = run(capsys, "unentitle", "--dir", d, "--line", "nope")
    assert code == 3 and err == "satellite-central: error: no entitlement line nope\n"
