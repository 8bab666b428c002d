"""Report figures rendered headless with matplotlib's Agg backend, returned as PNG bytes.

The confusion matrix is drawn with imshow rather than sklearn's ConfusionMatrixDisplay: the report draws a
most-confused subset of many classes, row-normalised colours with raw counts, which that display does not.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers and CI
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def most_confused(confusion: np.ndarray, max_classes: int) -> np.ndarray:
    """Indices of up to max_classes classes involved in the largest off-diagonal counts, sorted."""
    n = confusion.shape[0]
    if n <= max_classes:
        return np.arange(n)
    off = confusion.astype(float).copy()
    np.fill_diagonal(off, 0)
    chosen: list[int] = []
    for flat in np.argsort(-off, axis=None, kind="stable"):
        for idx in np.unravel_index(flat, off.shape):
            if int(idx) not in chosen and len(chosen) < max_classes:
                chosen.append(int(idx))
        if len(chosen) >= max_classes:
            break
    return np.array(sorted(chosen))


def confusion_png(
    confusion: Sequence[Sequence[int]], classes: Sequence[str], title: str = "", max_classes: int = 20
) -> bytes:
    """Row-normalised confusion matrix; with many classes only the most confused subset is drawn."""
    cm = np.asarray(confusion, dtype=float)
    keep = most_confused(cm, max_classes)
    sub = cm[np.ix_(keep, keep)]
    norm = sub / np.maximum(cm[keep].sum(axis=1, keepdims=True), 1)
    names = [classes[i] for i in keep]
    size = 2.5 + 0.35 * len(keep)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(keep)), names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(keep)), names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if len(keep) <= 25:
        for (r, c), v in np.ndenumerate(sub):
            if v:
                ax.text(
                    c,
                    r,
                    str(int(v)),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if norm[r, c] > 0.5 else "black",
                )
    suffix = f" ({len(keep)} most confused of {cm.shape[0]})" if len(keep) < cm.shape[0] else ""
    ax.set_title(f"{title}{suffix}", fontsize=9)
    return png(fig)


def curves_png(history: Sequence[Mapping[str, float]], title: str = "") -> bytes:
    """Loss, accuracy and learning rate per epoch from a trainer history."""
    epochs = np.arange(1, len(history) + 1)
    fig, axes = plt.subplots(1, 3, figsize=(10, 2.8))
    panels = (("loss", ("train_loss", "val_loss")), ("accuracy", ("train_acc", "val_acc")), ("lr", ("lr",)))
    for ax, (label, keys) in zip(axes, panels):
        for key in keys:
            values = [h.get(key) for h in history]
            if any(v is not None for v in values):
                ax.plot(epochs, [np.nan if v is None else v for v in values], marker=".", label=key)
        ax.set_xlabel("epoch")
        ax.set_title(label, fontsize=9)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10, y=1.04)  # above the panel titles
    return png(fig)


def f1_bars_png(per_method_f1: Mapping[str, Mapping[str, float]], classes: Sequence[str]) -> bytes:
    """Grouped horizontal bars: per-class F1 of each method."""
    methods = list(per_method_f1)
    height = 0.8 / max(len(methods), 1)
    fig, ax = plt.subplots(figsize=(7, 1.0 + 0.25 * len(classes) * max(1, len(methods)) ** 0.5))
    y = np.arange(len(classes))
    for i, method in enumerate(methods):
        values = [per_method_f1[method].get(c, 0.0) for c in classes]
        ax.barh(y + i * height, values, height=height, label=method)
    ax.set_yticks(y + 0.4 - height / 2, classes, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("F1")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: bars reach x=1
    return png(fig)


def comparison_png(values: Mapping[str, float], ylabel: str = "top-1") -> bytes:
    """One bar per method."""
    fig, ax = plt.subplots(figsize=(1.5 + 0.9 * len(values), 3))
    bars = ax.bar(list(values), list(values.values()), color="tab:blue")
    ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", rotation=30, labelsize=8)
    return png(fig)


def tsne_embedding(
    features: np.ndarray, labels: np.ndarray, seed: int = 0, max_points: int = 2000
) -> tuple[np.ndarray, np.ndarray]:
    """(2-D embedding, its labels) of feature vectors; perplexity shrinks for small N, large N is subsampled.

    Features are reduced to 50 PCA dimensions first (the usual t-SNE preprocessing); Barnes-Hut runs on one
    OpenMP thread: on a shared CPU its threads oversubscribe the cores (1,000 points: 9 s on one, 60 s on all).
    """
    from sklearn.decomposition import PCA  # imported late: slow to import, used only here
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    x = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    y = np.asarray(labels).reshape(-1)
    if len(x) > max_points:  # t-SNE cost grows fast; a random subset shows the same structure
        keep = np.random.default_rng(seed).choice(len(x), max_points, replace=False)
        x, y = x[keep], y[keep]
    if len(x) < 4:
        return np.zeros((len(x), 2)), y
    if x.shape[1] > 50 and len(x) > 50:
        x = PCA(50, random_state=seed).fit_transform(x)
    perplexity = float(max(2.0, min(30.0, (len(x) - 1) / 3)))
    method = "exact" if len(x) <= 200 else "barnes_hut"  # exact: as fast for few points, no approximation
    with threadpool_limits(1, user_api="openmp"):
        tsne = TSNE(
            n_components=2, perplexity=perplexity, init="pca", method=method, max_iter=500, random_state=seed, angle=0.8
        )
        return tsne.fit_transform(x), y


def tsne_png(
    features: np.ndarray,
    labels: np.ndarray,
    classes: Sequence[str] | None = None,
    title: str = "",
    seed: int = 0,
    max_points: int = 2000,
) -> bytes:
    """2-D t-SNE scatter of feature vectors coloured by class, with a legend beside it (up to 60 classes)."""
    emb, y = tsne_embedding(features, labels, seed, max_points)
    present = np.unique(y)
    fig, ax = plt.subplots(figsize=(4.6 + 1.3 * (-(-len(present) // 26)), 4.2))
    cmap = plt.get_cmap("tab20")
    markers = "o^sD"  # 20 colours x 4 markers tell 80 classes apart
    for k in present:
        pts = emb[y == k]
        name = classes[int(k)] if classes is not None else str(k)
        ax.scatter(
            pts[:, 0], pts[:, 1], s=9, color=cmap(int(k) % 20), marker=markers[int(k) // 20 % 4], label=name[:16]
        )
    if len(present) <= 60:
        ax.legend(
            fontsize=6.5,
            markerscale=1.2,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            ncol=-(-len(present) // 26),
            frameon=False,
            handletextpad=0.2,
            columnspacing=0.6,
        )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{title} ({len(y)} videos)", fontsize=9)
    return png(fig)
