"""Training under torchrun: 2 gloo processes on this CPU give the one-process run (same global batch, same
shuffle), each test video is scored once, rank 0 alone writes, and --resume continues under torchrun."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from actionlab.cli import main

# clip3d without dropout: its BatchNorms are synchronised (training.syncbn on CPU) and augmentation is drawn from
# (seed, epoch, index), so two processes must compute what one does
ARGS = [
    "--method",
    "clip3d",
    "--frames",
    "4",
    "--size",
    "32",
    "--batch-size",
    "8",
    "--workers",
    "0",
    "--lr",
    "3e-3",
    "--set",
    "width=8",
    "--set",
    "dropout=0",
]


@pytest.fixture
def video_root(tiny_root: Path) -> Path:
    return tiny_root


def _launch(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    return subprocess.run(
        [sys.executable, "-m", "actionlab", "train", *args], capture_output=True, text=True, env=env, timeout=600
    )


def _predictions(run: Path) -> dict[str, list[str]]:
    with open(run / "predictions.csv", newline="") as f:
        rows = list(csv.reader(f))[1:]
    assert len({r[0] for r in rows}) == len(rows), "a test video was written twice"
    return {r[0]: r[1:] for r in rows}


def test_two_gloo_processes_train_like_one_and_resume(video_root: Path, tmp_path: Path) -> None:
    data = ["--dataset", f"folder:{video_root}"]
    assert main(["train", *data, "--out", str(tmp_path / "one"), "--epochs", "2", *ARGS]) == 0
    # interrupted after epoch 1 by the time budget (same schedule as the full run), then resumed under torchrun
    first = _launch(
        *data, "--out", str(tmp_path / "two"), "--epochs", "2", "--time-budget", "0.01", "--nproc", "2", *ARGS
    )
    assert first.returncode == 0, first.stderr[-3000:]
    cut = json.loads((tmp_path / "two" / "history.json").read_text())
    assert len(cut["epochs"]) == 1 and cut["stop_reason"] == "time_budget"
    resumed = _launch(*data, "--out", str(tmp_path / "two"), "--epochs", "2", "--nproc", "2", "--resume", *ARGS)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.stdout.count("test top1") == 1  # one summary: the other rank prints nothing

    one, two = (json.loads((tmp_path / r / "history.json").read_text()) for r in ("one", "two"))
    assert [e["epoch"] for e in two["epochs"]] == [1, 2] and two["stop_reason"] == "completed"
    for a, b in zip(one["epochs"], two["epochs"]):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=2e-3, abs=2e-3)
    r1, r2 = (json.loads((tmp_path / r / "results.json").read_text()) for r in ("one", "two"))
    assert r2["num_videos"] == r1["num_videos"] == len(_predictions(tmp_path / "one"))
    p1, p2 = _predictions(tmp_path / "one"), _predictions(tmp_path / "two")
    assert p1.keys() == p2.keys()  # every test video exactly once, gathered from both ranks
    for path, row in p1.items():  # near-uniform scores of a 2-epoch model: compare the scores, not the argmax
        assert [float(v) for v in p2[path][3::2]] == pytest.approx([float(v) for v in row[3::2]], abs=2e-3)
    # rank 0 alone writes: one event file per launch (two ranks writing would leave four)
    assert len(list((tmp_path / "two" / "tensorboard").glob("events.out.tfevents.*"))) == 2


def test_sharded_batches_are_the_one_process_batches() -> None:
    from actionlab.training.distributed import EpochBatches, World

    one = EpochBatches(30, 8, True, seed=3, w=World())
    parts = [EpochBatches(30, 8, True, seed=3, w=World(rank=r, size=2)) for r in range(2)]
    for epoch in (0, 1):
        for s in (one, *parts):
            s.set_epoch(epoch)
        whole = list(one)
        assert [sorted(a + b) for a, b in zip(*map(list, parts))] == [sorted(b) for b in whole]
        assert all(len(b) == 8 for b in whole) and len(whole) == 3  # the partial last batch is dropped
    assert list(one) != list(EpochBatches(30, 8, True, seed=3, w=World()))  # epoch 1 reshuffled
    evaluation = [EpochBatches(7, 4, False, seed=0, w=World(rank=r, size=2)) for r in range(2)]
    assert sorted(i for s in evaluation for b in s for i in b) == list(range(7))  # each index once, no padding


def _bn_rank(rank: int, init: str, x: torch.Tensor, out: str) -> None:
    import torch.distributed as dist

    from actionlab.training.syncbn import sync_batchnorm_cpu

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(3)
    sync_batchnorm_cpu(bn)
    part = x[rank::2].clone().requires_grad_(True)
    y = bn(part)
    (y * torch.arange(y.numel()).reshape(y.shape)[: len(y)]).sum().backward()  # a loss that is not symmetric
    torch.save(
        {
            "y": y.detach(),
            "grad": part.grad,
            "weight_grad": bn.weight.grad,
            "mean": bn.running_mean,
            "var": bn.running_var,
        },
        f"{out}{rank}.pt",
    )
    dist.destroy_process_group()


def test_cpu_batchnorm_is_synchronised_over_processes(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    x = torch.randn(8, 3, 5, 5, generator=torch.Generator().manual_seed(1))
    out = str(tmp_path / "rank")
    mp.spawn(_bn_rank, args=(f"file://{tmp_path / 'rdzv'}", x, out), nprocs=2)
    ranks = [torch.load(f"{out}{r}.pt") for r in range(2)]
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(3)
    whole = x.clone().requires_grad_(True)
    y = bn(whole)
    weights = torch.cat(
        [torch.arange(y[0::2].numel()).reshape(y[0::2].shape), torch.arange(y[1::2].numel()).reshape(y[1::2].shape)]
    )
    order = torch.cat([torch.arange(0, 8, 2), torch.arange(1, 8, 2)])
    (y[order] * weights).sum().backward()
    for r in range(2):
        assert torch.allclose(ranks[r]["y"], y[r::2].detach(), atol=1e-5)
        assert torch.allclose(ranks[r]["grad"], whole.grad[r::2], atol=1e-4)
        assert torch.allclose(ranks[r]["mean"], bn.running_mean, atol=1e-6)
        assert torch.allclose(ranks[r]["var"], bn.running_var, atol=1e-5)
    # each rank holds its share of the weight gradient: DDP sums (averages) them into the one-process gradient
    assert torch.allclose(ranks[0]["weight_grad"] + ranks[1]["weight_grad"], bn.weight.grad, atol=1e-3)


def _verb_rank(rank: int, init: str, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    rc = main(["methods"])
    Path(f"{out}{rank}").write_text(f"{rc} {dist.is_initialized()}")


def test_a_verb_leaves_the_process_group_when_it_ends(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    out = str(tmp_path / "rank")
    mp.spawn(_verb_rank, args=(f"file://{tmp_path / 'rdzv'}", out), nprocs=2)
    assert [Path(f"{out}{r}").read_text() for r in range(2)] == ["0 False", "0 False"]


def test_a_torchrun_process_ends_without_finalisation_but_with_its_exit_work_done() -> None:
    # gloo threads freeing tensors during interpreter finalisation aborted a rank (SIGABRT, seen in CI)
    code = (
        "import atexit, sys; atexit.register(lambda: print('atexit ran'));"
        "from actionlab.training.distributed import exit_process; print('buffered', end=' ');"
        "sys.stderr.write('err'); exit_process(3)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (3, "buffered atexit ran\n", "err")


def test_nproc_must_be_positive(video_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert (
        main(["train", "--dataset", f"folder:{video_root}", "--out", str(tmp_path / "r"), "--nproc", "0", *ARGS]) == 2
    )
    assert "--nproc must be >= 1" in capsys.readouterr().err
