from __future__ import annotations

from pathlib import Path

import pytest

from satellite.config import Settings, load_settings
from satellite.errors import ConfigError


def test_precedence_defaults_then_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "satellite.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\nlog_level = "DEBUG"\n')
    settings = load_settings(config_file=config, env={"SATELLITE_PORT": "9100"})
    assert settings.port == 9100
    assert settings.host == "0.0.0.0"
    assert settings.log_level == "DEBUG"
    assert settings.threads == 8


def test_config_file_from_environment_and_data_dir(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text('log_json = true\n')
    settings = load_settings(env={"SATELLITE_CONFIG": str(config), "SATELLITE_DATA_DIR": "/srv/sat"})
    assert settings.log_json is True
    assert settings.data_dir == Path("/srv/sat")
    assert settings.effective_database_url == "sqlite:////srv/sat/satellite.db"


@pytest.mark.parametrize(("content", "env", "message"), [
    ("prot = 1\n", {}, "unknown setting 'prot'"),
    ('port = "many"\n', {}, "setting port: expected a whole number"),
    ("", {"SATELLITE_PORT": "70000"}, "setting port: 70000 is not a TCP port"),
    ("", {"SATELLITE_LOG_JSON": "perhaps"}, "SATELLITE_LOG_JSON: expected true or false"),
    ('central_url = "ftp://central"\n', {}, "setting central_url"),
    ("authorization_renew_days = 95\n", {}, "authorization_renew_days"),
    ("port = \n", {}, "config file"),
])
def test_bad_settings_name_the_key(tmp_path: Path, content: str, env: dict[str, str], message: str) -> None:
    config = tmp_path / "satellite.toml"
    config.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings(config_file=config, env=env)


def test_shipped_example_is_valid_and_complete() -> None:
    example = Path(__file__).parents[2] / "config" / "satellite.toml"
    settings = load_settings(config_file=example, env={})
    text = example.read_text()
    for name in settings.__dataclass_fields__:
        if name not in ("extra", "sources"):
            assert f"{name} =" in text, f"config/satellite.toml does not document {name}"


def test_cli_reports_bad_config_in_one_line(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("colour = 'blue'\n")
    monkeypatch.setenv("SATELLITE_CONFIG", str(config))
    result = cli("--config", str(config), "status")
    assert result.code == 2
    assert result.err == f"satellite: error: config file {config}: unknown setting 'colour'\n"


def test_each_value_names_where_it_came_from(tmp_path: Path) -> None:
    config = tmp_path / "satellite.toml"
    config.write_text('port = 9000\nthreads = 4\n')
    settings = load_settings(data_dir=tmp_path, config_file=config,
                             env={"SATELLITE_THREADS": "6"}, overrides={"log_level": "DEBUG"})
    assert settings.sources["port"] == f"file {config}"
    assert settings.sources["threads"] == "environment SATELLITE_THREADS"
    assert settings.sources["log_level"] == "command line"
    assert "device_url" not in settings.sources  # the default


def test_the_settings_page_lists_every_setting_once() -> None:
    from satellite.effective_settings import DESCRIPTIONS, GROUPS

    listed = [name for _, names in GROUPS for name in names]
    every = {n for n in Settings.__dataclass_fields__ if n not in ("extra", "sources")}
    assert sorted(listed) == sorted(every)
    assert set(DESCRIPTIONS) == every
