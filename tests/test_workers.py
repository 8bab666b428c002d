"""DataLoader workers: started from the fork server with the trainer's environment, batches built in shared
memory, an unguarded API script stopped with one line, ACTIONLAB_WORKER_START checked."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from actionlab.cli import main
from actionlab.methods.inputs import collate_views
from actionlab.training.workers import loader_options, start_workers_early


class _Where(Dataset):
    """Each item: (the reading process's parent pid, whether it sees ACTIONLAB_TEST_MARK), label 0."""

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int):
        return torch.tensor([[float(os.getppid()), float(os.environ.get("ACTIONLAB_TEST_MARK") == "set later")]]), 0


def _read(start: str | None, monkeypatch: pytest.MonkeyPatch) -> torch.Tensor:
    if start:
        monkeypatch.setenv("ACTIONLAB_WORKER_START", start)
    start_workers_early(1)  # the fork server (if any) starts before the variable below exists
    monkeypatch.setenv("ACTIONLAB_TEST_MARK", "set later")
    loader = DataLoader(_Where(), batch_size=2, **loader_options(1, torch.device("cpu"), collate_views))
    return next(iter(loader))[0]


def test_workers_come_from_the_fork_server_with_the_trainers_environment(monkeypatch) -> None:
    """By default a worker is not a child of the trainer (no copy-on-write sharing of its memory), yet sees the
    environment as it is when the loader starts, not as it was when the fork server started."""
    x = _read(None, monkeypatch)
    assert (x[:, 0] != os.getpid()).all()
    assert (x[:, 1] == 1).all()


def test_worker_start_fork_on_request(monkeypatch, capsys, tmp_path: Path, tiny_root: Path) -> None:
    """ACTIONLAB_WORKER_START=fork forks the trainer; an unknown value is one line naming the valid ones."""
    assert (_read("fork", monkeypatch)[:, 0] == os.getpid()).all()
    monkeypatch.setenv("ACTIONLAB_WORKER_START", "threads")
    args = ["train", "--dataset", f"folder:{tiny_root}", "--method", "clip3d", "--out", str(tmp_path / "run")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ACTIONLAB_WORKER_START must be one of forkserver, fork, spawn" in err[0]


class _Shared(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int):
        return torch.full((1, 3, 2, 4, 4), float(i)), i


def _shared_flag(items):
    x, labels = collate_views(items)
    return x, labels, torch.tensor(x.is_shared())


def test_worker_batches_are_built_in_shared_memory() -> None:
    """collate_views in a worker writes the batch straight into shared memory (no copy into it when sent), with
    the same values as in-process."""
    loader = DataLoader(_Shared(), batch_size=4, **loader_options(1, torch.device("cpu"), _shared_flag))
    x, labels, shared = next(iter(loader))
    assert bool(shared)
    here, _, shared_here = _shared_flag([_Shared()[i] for i in range(4)])
    assert not bool(shared_here) and torch.equal(x, here) and labels.tolist() == [0, 1, 2, 3]


def test_unguarded_api_script_is_stopped_with_one_line(tmp_path: Path, tiny_root: Path) -> None:
    """A script that trains at import time (no __main__ guard) would run again in every worker: the workers
    stop with one line saying what to change, instead of training again or recursing."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import actionlab
            actionlab.train("folder:{tiny_root}", "clip3d", r"{tmp_path / "run"}",
                            {{"epochs": 1, "frames": 4, "size": 32, "workers": 1}}, progress=False)
            """
        )
    )
    env = dict(os.environ, ACTIONLAB_CACHE=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode != 0
    ours = [line for line in done.stderr.splitlines() if line.startswith("actionlab: ")]
    assert ours and f"{script} starts a run when it is imported" in ours[0]
    assert 'if __name__ == "__main__":' in ours[0] and "ACTIONLAB_WORKER_START=fork" in ours[0]


class _Dies(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's out-of-memory killer would


def test_a_killed_worker_is_one_error_line() -> None:
    """A worker killed mid-run ends the loop with one ActionlabError line saying what may have happened."""
    from actionlab.errors import ActionlabError
    from actionlab.training.workers import batches

    loader = DataLoader(_Dies(), batch_size=2, **loader_options(1, torch.device("cpu")))
    with pytest.raises(ActionlabError, match=r"^DataLoader worker .*(killed|exited).*workers=0") as err:
        list(batches(loader))
    assert "\n" not in str(err.value)


class _Numbered(Dataset):
    """Item i: a (1, 3, 2, 4, 4) clip filled with i, label i."""

    def __len__(self) -> int:
        return 40

    def __getitem__(self, i: int):
        return torch.full((1, 3, 2, 4, 4), float(i)), i


def test_batch_slots_are_reused_and_a_held_batch_is_never_overwritten() -> None:
    """Through batches() each batch is right when used and the worker refills released slots; a consumer that
    keeps every batch (no release) gets them all intact, the later ones in new shared memory."""
    from actionlab.training.batch_slots import SPARE_SLOTS, Slotted
    from actionlab.training.workers import batches

    def loader() -> DataLoader:
        return DataLoader(_Numbered(), batch_size=4, **loader_options(1, torch.device("cpu"), collate_views))

    def intact(x: torch.Tensor, labels: torch.Tensor, k: int) -> bool:
        return labels.tolist() == list(range(4 * k, 4 * k + 4)) and bool((x.flatten(1) == labels.view(4, 1)).all())

    used = []
    for k, batch in enumerate(batches(loader())):
        assert intact(*batch, k)
        used.append(batch.slot if isinstance(batch, Slotted) else None)
    slots = 2 + SPARE_SLOTS  # DataLoader's default prefetch_factor, 2
    assert None not in used and len(used) == 10 and len(set(used)) <= slots
    kept = list(loader())
    assert all(intact(*batch, k) for k, batch in enumerate(kept))
    assert [isinstance(b, Slotted) for b in kept] == [True] * slots + [False] * (10 - slots)


class _Large(Dataset):
    """32 items of 1 MiB each."""

    def __len__(self) -> int:
        return 32

    def __getitem__(self, i: int):
        return torch.full((1, 256, 1024), float(i)), i


def test_refilled_slots_are_not_mapped_again_by_the_trainer() -> None:
    """Once every slot has come back once, the trainer reads refilled slots through the mapping it kept: almost
    no page faults (a new 4 MiB mapping per batch would fault at least 64 times, once per 64 KiB fault-around)."""
    import resource

    from actionlab.training.workers import batches

    loader = DataLoader(
        _Large(), batch_size=4, persistent_workers=True, **loader_options(1, torch.device("cpu"), collate_views)
    )

    def intact(x: torch.Tensor, labels: torch.Tensor) -> bool:
        # reads every element and allocates nothing large (a new 4 MiB result would fault by itself)
        return x.sum(dim=(1, 2)).tolist() == [256 * 1024 * float(i) for i in labels.tolist()]

    assert all(intact(*batch) for batch in batches(loader))  # every slot sent, mapped and released once
    before, count = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, 0
    for batch in batches(loader):
        assert intact(*batch)
        count += 1
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert count == 8 and faults < 8 * 64 / 4, faults
