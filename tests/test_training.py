"""Trainer: a tiny model learns from real encoded videos; resume, early stopping, schedules, bf16, predict."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset, TensorDataset

from actionlab.errors import CheckpointError, ConfigError
from actionlab.models import create_model, load_run_model
from actionlab.training import TrainConfig, Trainer, build_optimizer, build_scheduler, predict_scores
from actionlab.transforms import ClipTransform
from actionlab.video import read_frames
from media import write_video


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """2 shared cores: intra-op threads fight the other test processes and run ~50x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _moving_bar(direction: int, phase: int, n: int = 8, size: int = 32) -> np.ndarray:
    frames = np.zeros((n, size, size, 3), np.uint8)
    for t in range(n):
        x = (phase + direction * 3 * t) % size
        frames[t, :, max(0, x - 2) : x + 2] = 255
    return frames


class VideoClips(Dataset):
    """Clips decoded from real H.264 files: class 0 = bar moving right, class 1 = moving left."""

    def __init__(self, paths: list, labels: list[int]) -> None:
        self.paths, self.labels, self.tf = paths, labels, ClipTransform(32)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        clip, _ = self.tf(read_frames(self.paths[i], range(8)))
        return clip, self.labels[i]


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> VideoClips:
    root = tmp_path_factory.mktemp("clips")
    paths, labels = [], []
    for i in range(16):
        label = i % 2
        paths.append(write_video(root / f"{i}.mp4", _moving_bar(1 if label == 0 else -1, phase=3 * i)))
        labels.append(label)
    return VideoClips(paths, labels)


def _fit(run_dir, data, **cfg):
    torch.manual_seed(0)
    model = create_model("r2plus1d-small", num_classes=2, width=8)
    config = TrainConfig(**{"epochs": 4, "batch_size": 4, "lr": 3e-3, "progress": False, "tracker": "none", **cfg})
    return model, Trainer(config).fit(model, data, data, run_dir, extra_config={"classes": ["right", "left"]})


def test_training_on_real_videos_lowers_loss_and_saves_best(clips, tmp_path) -> None:
    model, history = _fit(tmp_path / "run", clips, epochs=6)
    losses = [e.train_loss for e in history.epochs]
    assert losses[-1] < losses[0]
    saved = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(saved["epochs"]) == 6 and saved["best_epoch"] == history.best_epoch
    best, config = load_run_model(tmp_path / "run")
    assert config["classes"] == ["right", "left"] and config["train"]["epochs"] == 6
    scores = predict_scores(best, clips, batch_size=5)
    assert scores.shape == (16, 2) and np.allclose(scores.sum(1), 1, atol=1e-5)
    val_loss = torch.nn.functional.nll_loss(torch.log(torch.from_numpy(scores)), torch.tensor(clips.labels))
    assert val_loss.item() == pytest.approx(history.epochs[history.best_epoch].val_loss, rel=1e-4)


def _toy(n: int = 48, dim: int = 6) -> TensorDataset:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, dim, generator=g)
    return TensorDataset(x, (x[:, 0] > 0).long())


def _fit_toy(run_dir, epochs: int, resume: bool = False, **cfg):
    torch.manual_seed(0)
    model = create_model("mlp-head", num_classes=2, in_features=6, hidden=16, dropout=0.3)
    config = TrainConfig(
        epochs=epochs,
        batch_size=8,
        progress=False,
        tracker="none",
        optimizer="sgd",
        lr=0.05,
        schedule="cosine-restarts",
        schedule_params={"T_0": 2},
        **cfg,
    )
    return model, Trainer(config).fit(model, _toy(), _toy(16), run_dir, resume=resume)


def test_resumed_run_equals_uninterrupted_run(tmp_path) -> None:
    full_model, full = _fit_toy(tmp_path / "full", 4)
    _fit_toy(tmp_path / "cut", 2)  # "interrupted" after two epochs
    resumed_model, resumed = _fit_toy(tmp_path / "cut", 4, resume=True)
    assert [e.train_loss for e in resumed.epochs] == [e.train_loss for e in full.epochs]
    assert [e.lr for e in resumed.epochs] == [e.lr for e in full.epochs]
    for a, b in zip(full_model.state_dict().values(), resumed_model.state_dict().values()):
        assert torch.equal(a, b)
    again_model, again = _fit_toy(tmp_path / "cut", 4, resume=True)  # finished: nothing is recomputed
    assert len(again.epochs) == 4
    torch.save({"junk": torch.zeros(1)}, tmp_path / "cut" / "last_state.pt")
    with pytest.raises(CheckpointError, match="cannot resume"):
        _fit_toy(tmp_path / "cut", 4, resume=True)


def test_seeded_runs_are_identical(tmp_path) -> None:
    _, a = _fit_toy(tmp_path / "a", 2)
    _, b = _fit_toy(tmp_path / "b", 2)
    assert [e.train_loss for e in a.epochs] == [e.train_loss for e in b.epochs]


def test_early_stopping_stops(tmp_path) -> None:
    # lr so large that the validation loss cannot keep improving
    _, history = _fit_toy(tmp_path / "es", 30, early_stopping=2, weight_decay=0.0)
    assert history.stopped_early and history.stop_reason == "early_stopping" and len(history.epochs) < 30
    losses = [e.val_loss for e in history.epochs]
    assert min(losses[-2:]) >= min(losses[:-2])


def test_history_records_why_training_stopped(tmp_path) -> None:
    _, done = _fit_toy(tmp_path / "done", 2)
    assert done.stop_reason == "completed"
    _, budget = _fit_toy(tmp_path / "budget", 50, time_budget=1e-6)  # spent after the first epoch
    assert budget.stop_reason == "time_budget" and len(budget.epochs) == 1
    saved = json.loads((tmp_path / "budget" / "history.json").read_text())
    assert saved["stop_reason"] == "time_budget" and saved["best_epoch"] == 0 and not saved["stopped_early"]


def _lr_trace(n: int, **cfg) -> list[float]:
    config = TrainConfig(lr=1.0, **cfg)
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(1))], config)
    sched = build_scheduler(opt, config)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_schedule_traces() -> None:
    tri = _lr_trace(13, schedule="triangular2", schedule_params={"base_lr": 0.0, "max_lr": 1.0, "step_size_up": 2})
    assert tri[2] == pytest.approx(1.0) and tri[6] == pytest.approx(0.5) and tri[10] == pytest.approx(0.25)
    assert tri[0] == tri[4] == tri[8] == pytest.approx(0.0)
    cos = _lr_trace(7, schedule="cosine-restarts", schedule_params={"T_0": 3})
    assert cos[0] == cos[3] == cos[6] == 1.0 and cos[1] > cos[2]
    assert _lr_trace(4, schedule="exponential", schedule_params={"gamma": 0.5}) == pytest.approx([1, 0.5, 0.25, 0.125])
    assert _lr_trace(5, schedule="step", schedule_params={"step_size": 2, "gamma": 0.1}) == pytest.approx(
        [1, 1, 0.1, 0.1, 0.01]
    )
    assert _lr_trace(3) == [1.0, 1.0, 1.0]
    warm = _lr_trace(4, warmup_epochs=2, schedule="exponential", schedule_params={"gamma": 0.5})
    assert warm == pytest.approx([1 / 3, 2 / 3, 1.0, 0.5])


def test_bad_config_is_config_error() -> None:
    for bad in ({"optimizer": "lion"}, {"schedule": "poly"}, {"epochs": 0}, {"label_smoothing": 1.0}):
        with pytest.raises(ConfigError, match="TrainConfig"):
            TrainConfig(**bad)
    with pytest.raises(ConfigError, match="exponential"):
        _lr_trace(1, schedule="exponential", schedule_params={"nonsense": 1})


def test_bf16_channels_last_and_tuple_inputs(tmp_path, capsys) -> None:
    g = torch.Generator().manual_seed(0)
    seqs, lengths = torch.randn(12, 5, 4, generator=g), torch.randint(1, 6, (12,), generator=g)
    data = [((seqs[i], lengths[i]), int(i % 2)) for i in range(12)]
    model = create_model("rnn-head", num_classes=2, in_features=4, hidden=8)
    config = TrainConfig(epochs=2, batch_size=4, bf16=True, grad_clip=1.0, label_smoothing=0.1, tracker="none")
    history = Trainer(config).fit(model, data, None, tmp_path / "rnn")
    assert "epoch 2/2: train loss" in capsys.readouterr().err  # progress goes to stderr (plain lines: no tty)
    assert len(history.epochs) == 2 and np.isfinite(history.epochs[-1].train_loss)
    assert predict_scores(model, data).shape == (12, 2)
    images = TensorDataset(torch.randn(8, 3, 32, 32), torch.arange(8) % 2)
    cnn = create_model("resnet-small", num_classes=2, width=8)
    Trainer(TrainConfig(epochs=1, batch_size=4, bf16=True, channels_last=True, progress=False, tracker="none")).fit(
        cnn, images, images, tmp_path / "cnn"
    )
    assert (tmp_path / "cnn" / "model.safetensors").is_file()


class _Policy(Dataset):
    """Each item: the scheduling policy of the process that reads it."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int):
        import os

        return torch.tensor([float(os.sched_getscheduler(0))]), 0


@pytest.mark.skipif(not hasattr(__import__("os"), "SCHED_IDLE"), reason="Linux scheduling policies")
def test_cpu_loader_workers_decode_at_idle_priority(tmp_path) -> None:
    """A CPU run's DataLoader workers run at SCHED_IDLE (they take only cycles the network's threads leave)."""
    import os

    from actionlab.training import distributed
    from actionlab.training.trainer import _loaders

    cfg = TrainConfig(batch_size=2, num_workers=1, device="cpu", tracker="none", progress=False)
    loader, _, _ = _loaders(_Policy(), None, cfg, None, torch.device("cpu"), distributed.World())
    policies = {int(v) for x, _ in loader for v in x.flatten().tolist()}
    assert policies == {os.SCHED_IDLE}
    assert os.sched_getscheduler(0) != os.SCHED_IDLE  # the training process itself is untouched
