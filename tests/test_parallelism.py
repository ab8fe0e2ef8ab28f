"""The engine's calls at once and threads per call (``engine/parallelism.py``)."""

from __future__ import annotations

import pytest

from hark.engine.parallelism import MAX_AUTO_WORKERS, Parallelism, split


@pytest.mark.parametrize(
    ("cores", "expected"),
    [
        (1, Parallelism(1, 1)),
        (2, Parallelism(2, 1)),  # the measured case: two calls on a thread each
        (3, Parallelism(3, 1)),
        (16, Parallelism(MAX_AUTO_WORKERS, 16 // MAX_AUTO_WORKERS)),
    ],
)
def test_a_cpu_runs_a_call_per_core_by_default(cores: int, expected: Parallelism) -> None:
    assert split("cpu", cores=cores) == expected


def test_what_is_given_is_kept_and_the_rest_shares_the_cores() -> None:
    assert split("cpu", workers=1, cores=8) == Parallelism(1, 8)
    assert split("cpu", cpu_threads=4, cores=8) == Parallelism(4, 4)
    assert split("cpu", workers=3, cpu_threads=2, cores=2) == Parallelism(3, 2)


def test_a_gpu_runs_one_call_unless_told() -> None:
    assert split("cuda", cores=32) == Parallelism(1, 0)
    assert split("cuda", workers=2) == Parallelism(2, 0)


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        split("cpu", workers=-1)
