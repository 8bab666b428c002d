"""A compact in-memory training loop for the methods: AdamW + one-cycle schedule, resumable per epoch."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

BatchFn = Callable[[np.ndarray, np.random.Generator | None], tuple[tuple[torch.Tensor, ...], torch.Tensor]]


def fit(model: nn.Module, make_batch: BatchFn, num_train: int, *, epochs: int, batch_size: int = 16,
        lr: float = 3e-3, weight_decay: float = 1e-4, seed: int = 0, state_path: Path | None = None,
        resume: bool = False, desc: str = "train") -> list[dict[str, float]]:
    """Train `model` on batches from make_batch(indices, rng); return per-epoch {epoch, loss, acc, seconds}."""
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = max(1, -(-num_train // batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.2)
    history: list[dict[str, float]] = []
    start_epoch = 0
    if resume and state_path is not None and state_path.is_file():
        state = torch.load(state_path, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        sched.total_steps = epochs * steps_per_epoch  # --epochs may extend a finished run
        start_epoch = int(state["epoch"])
        history = [dict(zip(state["history_keys"], row)) for row in state["history"].tolist()]
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    for epoch in range(start_epoch, epochs):
        rng = np.random.default_rng(seed * 1000 + epoch)
        order = rng.permutation(num_train)
        model.train()
        t0, total, correct, seen = time.perf_counter(), 0.0, 0, 0
        bar = tqdm(range(0, num_train, batch_size), desc=f"{desc} {epoch + 1}/{epochs}", file=sys.stderr,
                   leave=False)
        for s in bar:
            idx = order[s:s + batch_size]
            if len(idx) < 2 < num_train:  # BatchNorm cannot train on a batch of one
                continue
            inputs, labels = make_batch(idx, rng)
            logits = model(*inputs)
            loss = loss_fn(logits, labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.detach().item() * len(labels)
            correct += int((logits.argmax(1) == labels).sum())
            seen += len(labels)
        history.append({"epoch": epoch + 1, "train_loss": total / max(seen, 1), "train_acc": correct / max(seen, 1),
                        "seconds": time.perf_counter() - t0})
        if state_path is not None:
            _save_state(state_path, model, opt, sched, epoch + 1, history)
    return history


def _save_state(path: Path, model: nn.Module, opt, sched, epoch: int, history: list[dict[str, float]]) -> None:
    keys = ["epoch", "train_loss", "train_acc", "seconds"]
    state = {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "epoch": epoch,
             "history_keys": keys, "history": torch.tensor([[h[k] for k in keys] for h in history])}
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


@torch.no_grad()
def batched_logits(model: nn.Module, make_input: Callable[[np.ndarray], tuple[torch.Tensor, ...]], n: int,
                   batch_size: int = 32) -> torch.Tensor:
    """Eval-mode logits for items 0..n-1, in batches."""
    model.eval()
    outs = [model(*make_input(np.arange(s, min(n, s + batch_size)))) for s in range(0, n, batch_size)]
    return torch.cat(outs) if outs else torch.zeros(0)
