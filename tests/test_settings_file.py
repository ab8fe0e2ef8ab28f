"""The ``--config`` TOML file: same names as the flags; flag > environment > file > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from hark.cli import main
from hark.settings import Settings, build_settings, load_config, render_config


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hark.toml"
    path.write_text(text)
    return path


def test_flag_beats_environment_beats_file_beats_default(tmp_path: Path) -> None:
    file = load_config(config(tmp_path, 'port = 9000\ngrpc-port = 9001\nmodel = "base.en"\n'))
    env = {"HARK_GRPC_PORT": "9101", "HARK_MODEL": "small.en"}
    settings = build_settings({"model": ("medium.en",), "workers": None}, env, file)
    assert settings.port == 9000  # file only
    assert settings.grpc_port == 9101  # environment over file
    assert settings.engine.model == ("medium.en",)  # flag over both
    assert settings.engine.workers == 0  # default: chosen for the device when loading


def test_file_takes_flag_and_setting_names_typed(tmp_path: Path) -> None:
    text = (
        'api-key = ["one", "two"]\nfile-root = "/srv/audio"\nsync_max_seconds = 120\n'
        'data-dir = "/var/lib/hark"\nlog-format = "json"\nstream-audio-timeout = 5\n'
    )
    settings = build_settings({}, {}, load_config(config(tmp_path, text)))
    assert settings.api_keys == ("one", "two")
    assert settings.storage.file_roots == (Path("/srv/audio"),)
    assert settings.limits.sync_max_seconds == 120.0
    assert settings.data_dir == Path("/var/lib/hark")
    assert settings.log_format == "json"
    assert settings.limits.stream_audio_timeout == 5.0


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("prot = 80\n", "unknown setting 'prot'"),
        ('port = "eighty"\n', "port = 'eighty' is not valid"),
        ("workers = 1.5\n", "workers = 1.5 is not valid"),
        ("api-key = [1]\n", "is not valid"),
        ("port = \n", "hark.toml"),
    ],
)
def test_bad_files_are_refused_naming_the_key(tmp_path: Path, text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        load_config(config(tmp_path, text))


def test_printed_config_reads_back_as_the_same_settings(tmp_path: Path) -> None:
    settings = build_settings({"port": 9000, "file_roots": (Path("/a"), Path("/b"))}, {})
    again = build_settings({}, {}, load_config(config(tmp_path, render_config(settings))))
    assert again == settings
    assert again != Settings()


def test_serve_print_config_shows_the_effective_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config(tmp_path, 'port = 9000\nmax-queue = 5\napi-key = "secret-key"\n')
    monkeypatch.setenv("HARK_MAX_QUEUE", "7")
    assert main(["serve", "--config", str(path), "--workers", "3", "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert "port = 9000\n" in printed and "max-queue = 7\n" in printed
    assert "workers = 3\n" in printed and "secret-key" not in printed
    assert main(["serve", "--config", str(tmp_path / "missing.toml"), "--print-config"]) == 1
    assert "missing.toml" in capsys.readouterr().err


def test_log_format_reads_its_variable() -> None:
    assert build_settings({}, {"HARK_LOG_FORMAT": "json"}).log_format == "json"
