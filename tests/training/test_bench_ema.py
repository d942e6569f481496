"""benchmarks/bench_ema.py: the EMA update's time, hand-written against torch's averaging."""

from __future__ import annotations

import pytest
from conftest import load_benchmark


def test_prints_each_way_and_modelema_matches_the_hand_written_average(
        capsys: pytest.CaptureFixture[str], one_torch_thread: None) -> None:
    assert load_benchmark("bench_ema").main(["--model", "xscreen_tiny", "--updates", "3",
                                             "--rounds", "1"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith("xscreen_tiny")).split()
    hand, plain, ours, _ratio, largest = map(float, row[1:6])
    assert min(hand, plain, ours) > 0
    assert largest < 1e-4                          # float rounding, not another average
    model, by_hand, by_torch, by_ema = map(int, row[6].split("/"))
    assert model == by_hand == by_ema == 20 and by_torch < 20   # torch truncates the integers


def test_bad_counts_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        load_benchmark("bench_ema").main(["--updates", "0"])
    assert "at least 1" in capsys.readouterr().err
