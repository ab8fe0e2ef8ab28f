"""`hark transcribe` loads no transport: its modules import no server or gRPC library."""

import subprocess
import sys

TRANSPORTS = ("uvicorn", "starlette", "grpc", "hark.api", "hark.app")


def test_local_transcribe_imports_no_transport() -> None:
    # Everything a local run imports: the CLI, the command, the local mode and the core it loads.
    code = (
        "import sys\n"
        "import hark.cli, hark.transcribe.command, hark.transcribe.local, hark.transcribe.remote\n"
        f"print(sorted(name for name in {TRANSPORTS!r} if name in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
