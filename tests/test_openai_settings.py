"""The two limits of OpenAI's routes: defaults, ``HARK_*`` variables and flags."""

from hark.cli import parser
from hark.settings import build_settings


def test_defaults_are_openais_file_limit_and_an_hour() -> None:
    limits = build_settings({}, {}).limits
    assert limits.openai_max_file_bytes == 25 * 1024 * 1024
    assert limits.openai_max_seconds == 3600.0


def test_flags_win_over_the_environment() -> None:
    environ = {"HARK_OPENAI_MAX_FILE_BYTES": "1000", "HARK_OPENAI_MAX_SECONDS": "60"}
    assert build_settings({}, environ).limits.openai_max_file_bytes == 1000
    args = parser().parse_args(["serve", "--openai-max-seconds", "30"])
    flags = {key: value for key, value in vars(args).items() if key != "command"}
    limits = build_settings(flags, environ).limits
    assert (limits.openai_max_seconds, limits.openai_max_file_bytes) == (30.0, 1000)
