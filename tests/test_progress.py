"""Progress: plain lines (no carriage returns) when stderr is not a terminal, bars that leave each epoch's
loss/accuracy line on a terminal, and the overall line of a compare."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from actionlab.cli import main
from actionlab.training import progress


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_non_terminal_run_prints_plain_epoch_lines(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from actionlab.synth import generate

    root = generate(tmp_path / "set", num_clips_per_class=3, size=64, seed=1)
    assert (
        main(
            [
                "train",
                "--dataset",
                f"folder:{root}",
                "--out",
                str(tmp_path / "run"),
                "--method",
                "frame-cnn",
                "--epochs",
                "2",
                "--size",
                "32",
                "--batch-size",
                "8",
                "--workers",
                "0",
                "--set",
                "width=8",
                "--tracker",
                "none",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "\r" not in err
    epochs = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["epoch 1/2", "epoch 2/2"]
    assert all(" train loss " in line and " acc " in line and line.endswith(" s") for line in epochs)


def test_plain_mode_prints_a_line_every_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "PLAIN_INTERVAL", 0.0)
    out = io.StringIO()
    bar = progress.Bar(3, "epoch 1/1 train", stream=out)
    for _ in range(3):
        bar.step(lambda: "loss 0.5")
    bar.close("epoch 1/1: done")
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and lines[-1] == "epoch 1/1: done"
    assert lines[0].startswith("epoch 1/1 train: 1/3 loss 0.5 (") and len(lines) == 4


def test_a_terminal_gets_a_bar_and_keeps_the_final_line() -> None:
    out = Terminal()
    bar = progress.Bar(2, "epoch 1/1 train", stream=out)
    bar.step()
    bar.step()
    bar.close("epoch 1/1: train loss 0.123 acc 0.900")
    text = out.getvalue()
    assert "\r" in text and "0/2" in text  # tqdm drew a bar
    assert text.rstrip().endswith("epoch 1/1: train loss 0.123 acc 0.900")


def test_disabled_progress_prints_nothing() -> None:
    out = io.StringIO()
    bar = progress.Bar(2, "x", enabled=False, stream=out)
    bar.step()
    bar.close("final")
    assert out.getvalue() == ""


def test_overall_line_names_method_i_of_n_with_an_estimate() -> None:
    assert progress.overall(1, 3, "clip3d", 0.5, 0) == "method 1 of 3 (clip3d), 0 s elapsed"
    assert progress.overall(3, 3, "lrcn", 130, 2) == "method 3 of 3 (lrcn), 2m10s elapsed, about 1m05s left"
