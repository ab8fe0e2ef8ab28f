"""Test helper: what a process (a real ``hark serve``) costs while something runs, read from
/proc (Linux): its peak resident memory (VmHWM, reset through clear_refs) and CPU seconds.

    with measure(server.process.pid) as usage:
        httpx.post(...)
    usage.peak_mb, usage.rest_mb, usage.cpu_s
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def _status(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def rss_mb(pid: int) -> float:
    return _status(pid, "VmRSS") / 1024


def threads(pid: int) -> int:
    return _status(pid, "Threads")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@dataclass
class Usage:
    rest_mb: float = 0.0  # resident memory when the measure began
    peak_mb: float = 0.0  # the highest resident memory during it
    cpu_s: float = 0.0

    @property
    def above_rest_mb(self) -> float:
        return self.peak_mb - self.rest_mb


@contextmanager
def measure(pid: int) -> Iterator[Usage]:
    """Peak RSS (above the RSS at the start) and CPU seconds of ``pid`` during the block."""
    with open(f"/proc/{pid}/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM to the current RSS
    usage = Usage(rest_mb=rss_mb(pid))
    cpu = cpu_seconds(pid)
    yield usage
    usage.peak_mb = _status(pid, "VmHWM") / 1024
    usage.cpu_s = cpu_seconds(pid) - cpu
