"""The fleet's settings and commands without a database: what an operator sees when one is
missing, unreachable, or in a printed config."""

from __future__ import annotations

import subprocess
import sys

from hark.settings import build_settings, render_config

from conftest import free_port

UNREACHABLE = f"postgresql://hark@127.0.0.1:{free_port()}/hark"


def hark(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hark", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )


def test_the_database_password_is_not_printed() -> None:
    settings = build_settings({"database": "postgresql://hark:s3cret@db/hark"}, environ={})
    assert 'database = "postgresql://hark:***@db/hark"' in render_config(settings)


def test_fleet_commands_need_a_database() -> None:
    for command in (["worker"], ["db", "migrate"], ["jobs"]):
        result = hark(*command)
        assert result.returncode == 2 and "--database" in result.stderr


def test_an_unreachable_database_is_one_clear_line() -> None:
    migrated = hark("db", "migrate", "--database", UNREACHABLE)
    assert migrated.returncode == 1 and "cannot migrate: connection failed" in migrated.stderr
    ports = ("--port", str(free_port()), "--grpc-port", str(free_port()))
    served = hark("serve", "--database", UNREACHABLE, *ports)
    assert served.returncode == 1 and "cannot start: cannot use the database" in served.stderr
    assert "Traceback" not in served.stderr
