"""The settings of issue 11 (network and access): flags and HARK_* variables become Settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from hark.cli import parser
from hark.settings import build_settings
from hark.storage import AudioStorage


def test_environment_lists_and_switches() -> None:
    settings = build_settings(
        {},
        {
            "HARK_API_KEYS": "alice=s3cret-a, bob=s3cret-b",
            "HARK_ADMIN_KEYS": "root=r00t-key",
            "HARK_HTTP_AUDIO": "true",
            "HARK_HTTP_ALLOW": "10.0.0.0/8,192.168.1.0/24",
            "HARK_HTTP_TIMEOUT_SECONDS": "30",
            "HARK_ALLOWED_HOSTS": "hark.lan",
            "HARK_ALLOWED_ORIGINS": "https://app.example",
            "HARK_REQUEST_TIMEOUT_SECONDS": "15",
            "HARK_MAX_CONNECTIONS": "64",
        },
    )
    assert settings.api_keys == ("alice=s3cret-a", "bob=s3cret-b")
    assert settings.admin_keys == ("root=r00t-key",)
    assert settings.storage.http_audio is True
    assert settings.storage.http_allow == ("10.0.0.0/8", "192.168.1.0/24")
    assert settings.storage.http_timeout_seconds == 30.0
    assert settings.allowed_hosts == ("hark.lan",)
    assert settings.allowed_origins == ("https://app.example",)
    assert settings.limits.request_timeout_seconds == 15.0
    assert settings.max_connections == 64


def test_defaults_are_closed() -> None:
    settings = build_settings({}, {})
    assert settings.storage.http_audio is False
    assert settings.storage.http_allow == ()
    assert settings.allowed_hosts == () and settings.allowed_origins == ()


def test_flags_win() -> None:
    args = parser().parse_args(
        ["serve", "--http-audio", "--http-allow", "10.1.0.0/16", "--api-key", "a=b-key",
         "--admin-key", "root-key", "--allowed-host", "h.lan", "--max-connections", "9"]
    )  # fmt: skip
    flags = {key: value for key, value in vars(args).items() if key != "command"}
    flags = {
        key: tuple(value) if isinstance(value, list) else value for key, value in flags.items()
    }
    settings = build_settings(flags, {"HARK_HTTP_AUDIO": "false", "HARK_MAX_CONNECTIONS": "3"})
    assert settings.storage.http_audio is True
    assert settings.storage.http_allow == ("10.1.0.0/16",)
    assert settings.api_keys == ("a=b-key",) and settings.admin_keys == ("root-key",)
    assert settings.allowed_hosts == ("h.lan",)
    assert settings.max_connections == 9


def test_a_bad_network_stops_start_up(tmp_path: Path) -> None:
    settings = build_settings({}, {"HARK_HTTP_ALLOW": "10.0.0.0/33"})
    with pytest.raises(ValueError):
        AudioStorage(settings.storage, tmp_path)
