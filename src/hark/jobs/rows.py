"""What the SQL stores share: a row of the job columns read back as a ``Job``, and the opaque
page tokens that carry the last row's insertion number (each store with its own prefix, so a
token from one store is refused by the other)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from hark.errors import InvalidArgument
from hark.jobs import Job, JobError, JobState, serial
from hark.speech.types import Recognition, RecognitionConfig


def job_from_row(row: Any) -> Job:
    """A ``Job`` from the stores' columns, in their shared order."""
    (name, version, state, config, uri, output_uri, progress, start, update, end, result,
     error_code, error_message, output_code, output_message, owner) = row  # fmt: skip
    return Job(
        name=name,
        api_version=version,
        config=serial.loads(RecognitionConfig, config),
        uri=uri,
        output_uri=output_uri,
        state=JobState(state),
        progress_percent=progress,
        start_time=start,
        last_update_time=update,
        end_time=end,
        result=None if result is None else serial.loads(Recognition, result),
        error=None if error_code is None else JobError(error_code, error_message),
        output_error=None if output_code is None else JobError(output_code, output_message),
        owner=owner,
    )


def page_token(seq: int, prefix: str) -> str:
    return base64.urlsafe_b64encode(f"{prefix}{seq}".encode()).decode()


def page_seq(token: str, prefix: str) -> int:
    """The insertion number in ``token`` (0 for none); INVALID_ARGUMENT for a foreign one."""
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        seq = int(text.removeprefix(prefix)) if text.startswith(prefix) else -1
    except (ValueError, binascii.Error, UnicodeDecodeError):
        seq = -1
    if not 0 <= seq < 1 << 63:  # both databases' integers are 64-bit signed
        raise InvalidArgument("Invalid page token.")
    return seq
