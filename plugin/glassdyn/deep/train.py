"""Training and prediction: :class:`DeepClassifier` wraps a network (CNN or D-MPNN) and the
featurizer that turns windows of frames into its inputs.

Training follows Swanson et al. (II.3.2, II.4.2): Adam, cross-entropy, and the learning-rate
schedule of chemprop's NoamLR, updated after every batch: linear warm-up from ``lr_init`` to
``lr_max`` over the first ``warmup_epochs`` (2) epochs, then exponential decay to ``lr_final`` at
the end of the last epoch. (The paper's values were lost in the text; the defaults are the
authors' code's: 1e-4, 1e-3, 1e-4.) The model of the epoch with the best validation AUC is kept;
``patience`` stops early after that many epochs without improvement.

Random windows are drawn afresh every epoch (one per configuration by default, as in the paper);
validation windows are drawn once. Every random choice (weight initialisation, windows,
shuffling, augmentation, dropout) comes from the ``seed`` of the classifier and of the
:class:`TrainConfig`: the same seeds give the same weights on the same device.

Labels are 0 and 1 (e.g. 0 liquid, 1 glass); ``predict_proba`` returns ``(n, 2)`` probabilities,
the mean over windows of each configuration's window probabilities.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError
from ..frame import Frame
from ..windows import Window
from .cnn import CNN
from .data import draw_windows, featurizer_from_config
from .mpnn import DMPNN

__all__ = [
    "ARCHITECTURES",
    "INPUT_OF",
    "DeepClassifier",
    "TrainConfig",
    "cnn_classifier",
    "lr_schedule",
    "mpnn_classifier",
    "resolve_device",
    "roc_auc",
]

ARCHITECTURES = {"cnn": CNN, "mpnn": DMPNN}
#: the input (featurizer kind) each architecture takes
INPUT_OF = {"cnn": "image", "mpnn": "graph"}


@dataclass
class TrainConfig:
    """Training settings.

    Attributes
    ----------
    epochs : int
        Passes over the training configurations (paper: 10).
    batch_size : int
        Windows per batch (paper: 10-100).
    lr_init, lr_max, lr_final : float
        Learning-rate schedule (see the module doc).
    warmup_epochs : float
        Length of the linear warm-up (paper: 2).
    l2 : float
        Coefficient of an L2 penalty ``l2 * sum(w**2)`` over the weight matrices and kernels
        (not the biases) added to the loss; the paper used 0.01 for its CNN. Default 0.
    windows_per_frame : int
        Training windows drawn per configuration and epoch.
    val_windows_per_frame : int
        Validation windows per configuration (drawn once).
    resample_windows : bool
        Draw new training windows every epoch (default) or once.
    patience : int, optional
        Stop after this many epochs without a better validation score.
    select : {"auc", "window_auc", "loss"}
        Which validation score picks the kept epoch: ROC AUC over validation configurations
        (their windows' mean probabilities; ties broken by the loss), ROC AUC over validation
        windows (ties broken by the loss), or the window log loss alone.
    max_grad_norm : float, optional
        Gradient clipping.
    device : str
        "cpu" (default), "auto" (CUDA when available) or any torch device string.
    threads : int, optional
        CPU threads torch may use during :meth:`DeepClassifier.fit` (restored afterwards); on a
        machine shared with other jobs, 1 is often much faster than oversubscribed cores.
    seed : int
        Seed of every random choice of the training.
    """

    epochs: int = 10
    batch_size: int = 50
    lr_init: float = 1e-4
    lr_max: float = 1e-3
    lr_final: float = 1e-4
    warmup_epochs: float = 2.0
    l2: float = 0.0
    windows_per_frame: int = 1
    val_windows_per_frame: int = 1
    resample_windows: bool = True
    patience: int | None = None
    select: str = "auc"
    max_grad_norm: float | None = None
    device: str = "cpu"
    threads: int | None = None
    seed: int = 0

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or self.windows_per_frame < 1 or self.val_windows_per_frame < 1:
            raise InputError("epochs, batch_size and windows per frame must be >= 1")
        if not (0 < self.lr_init and 0 < self.lr_max and 0 < self.lr_final):
            raise InputError("learning rates must be positive")
        if self.warmup_epochs < 0 or self.l2 < 0:
            raise InputError("warmup_epochs and l2 must be >= 0")
        if self.select not in ("auc", "window_auc", "loss"):
            raise InputError(f"select must be 'auc', 'window_auc' or 'loss', got {self.select!r}")


def lr_schedule(step: int, *, steps_per_epoch: int, epochs: int, lr_init: float, lr_max: float,
                lr_final: float, warmup_epochs: float = 2.0) -> float:
    """Learning rate before optimiser step ``step`` (0-based) of a run of ``epochs`` epochs.

    Linear from ``lr_init`` (step 0) to ``lr_max`` (step ``warmup_epochs * steps_per_epoch``),
    then ``lr_max * gamma**(step - warmup)`` with ``gamma`` such that it reaches ``lr_final`` at
    ``epochs * steps_per_epoch`` (chemprop's NoamLR).
    """
    warm = warmup_epochs * steps_per_epoch
    total = epochs * steps_per_epoch
    if step < warm:
        return lr_init + step * (lr_max - lr_init) / warm
    if total <= warm:
        return lr_max
    gamma = (lr_final / lr_max) ** (1.0 / (total - warm))
    return lr_max * gamma ** (min(step, total) - warm)


def resolve_device(device: str | torch.device = "cpu") -> torch.device:
    """``"auto"``: CUDA when a GPU is visible, else the CPU; anything else is passed to torch."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney statistic, ties counted half)."""
    from scipy.stats import rankdata
    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, dtype=float)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        raise InputError("the AUC needs configurations of both classes")
    r = rankdata(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def _labels(frames, labels, what: str) -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (len(frames),):
        raise InputError(f"{what}: {y.size} labels for {len(frames)} configurations")
    if y.dtype == bool:
        y = y.astype(np.int64)
    if not np.all(np.isin(y, (0, 1))):
        raise InputError(f"{what}: labels must be 0 or 1 (e.g. 0 liquid, 1 glass), found {sorted(set(y.tolist()))}")
    return y.astype(np.int64)


def _batches(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


class DeepClassifier:
    """A liquid/glass classifier: network + featurizer + training history.

    Parameters
    ----------
    kind : {"cnn", "mpnn"}
    model_params : dict
        Arguments of :class:`~glassdyn.deep.cnn.CNN` or :class:`~glassdyn.deep.mpnn.DMPNN`.
    input_params : dict
        Arguments of :class:`~glassdyn.deep.data.ImageFeaturizer` (cnn) or
        :class:`~glassdyn.deep.data.GraphFeaturizer` (mpnn).
    seed : int
        Seed of the weight initialisation.

    Attributes
    ----------
    model : torch.nn.Module
    featurizer : ImageFeaturizer or GraphFeaturizer
    history_ : list of dict
        Per epoch: train_loss, val_loss, val_auc, lr (at the end), seconds.
    best_epoch_ : int
        Epoch (1-based) whose weights were kept.
    """

    def __init__(self, kind: str, model_params: dict | None = None, input_params: dict | None = None, *,
                 seed: int = 0):
        if kind not in ARCHITECTURES:
            raise InputError(f"unknown architecture {kind!r} (expected 'cnn' or 'mpnn')")
        self.kind = kind
        self.seed = int(seed)
        self.featurizer = featurizer_from_config(INPUT_OF[kind], input_params or {})
        params = dict(model_params or {})
        if kind == "mpnn":
            params.setdefault("n_node_features", self.featurizer.n_types)
            if params["n_node_features"] != self.featurizer.n_types:
                raise InputError(f"n_node_features ({params['n_node_features']}) must equal the featurizer's "
                                 f"n_types ({self.featurizer.n_types})")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.model = ARCHITECTURES[kind](**params)
        self.history_: list[dict] = []
        self.best_epoch_: int | None = None
        self.train_config_: TrainConfig | None = None
        self.device = torch.device("cpu")

    # ------------------------------------------------------------------ description
    def architecture(self) -> dict:
        """``{"kind", "params"}``: every hyperparameter of the network."""
        return {"kind": self.kind, "params": self.model.config()}

    def input_description(self) -> dict:
        return {"kind": self.featurizer.kind, "params": self.featurizer.config()}

    def __repr__(self):
        return f"DeepClassifier({self.kind}, {self.model.config()}, {self.featurizer.config()})"

    # ------------------------------------------------------------------ forward helpers
    def _logits(self, batch) -> torch.Tensor:
        if self.kind == "mpnn":
            return self.model(batch.to(self.device))[0]
        return self.model(batch.to(self.device))

    def _encode(self, frames: Sequence[Frame], windows: Sequence[tuple[int, Window]]) -> list:
        return [self.featurizer.encode(frames[i], w) for i, w in windows]

    def _window_proba(self, items: list, batch_size: int) -> np.ndarray:
        self.model.eval()
        out = []
        with torch.no_grad():
            for sl in _batches(len(items), batch_size):
                logits = self._logits(self.featurizer.collate(items[sl], train=False))
                out.append(torch.softmax(logits.double(), dim=1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.n_classes))

    # ------------------------------------------------------------------ training
    def fit(self, frames: Sequence[Frame], labels, val_frames: Sequence[Frame] | None = None, val_labels=None, *,
            config: TrainConfig | None = None, val_fraction: float = 0.1,
            callback: Callable[[dict], None] | None = None) -> DeepClassifier:
        """Train on configurations with labels 0/1; validate on ``val_frames`` (or on a stratified
        ``val_fraction`` of ``frames``). ``callback`` gets each epoch's history entry."""
        cfg = config or TrainConfig()
        frames = list(frames)
        y = _labels(frames, labels, "training")
        seeds = np.random.SeedSequence(cfg.seed).spawn(5)
        if val_frames is None:
            rng = np.random.default_rng(seeds[0])
            val_idx = []
            for c in (0, 1):
                members = np.flatnonzero(y == c)
                take = max(1, int(round(val_fraction * len(members))))
                if len(members) <= take:
                    raise InputError(f"too few configurations of class {c} to hold out a validation set")
                val_idx.extend(rng.choice(members, size=take, replace=False).tolist())
            keep = np.setdiff1d(np.arange(len(frames)), val_idx)
            val_frames, yv = [frames[i] for i in sorted(val_idx)], y[np.sort(val_idx)]
            frames, y = [frames[i] for i in keep], y[keep]
        else:
            val_frames = list(val_frames)
            yv = _labels(val_frames, val_labels, "validation")
        if len(set(y.tolist())) < 2 or len(set(yv.tolist())) < 2:
            raise InputError("training and validation sets need configurations of both classes")

        device = resolve_device(cfg.device)
        self.device = device
        self.model.to(device)
        devices = [device.index or 0] if device.type == "cuda" else []
        win_rng = np.random.default_rng(seeds[1])
        shuffle_rng = np.random.default_rng(seeds[2])
        aug_rng = np.random.default_rng(seeds[3])

        val_windows = draw_windows(self.featurizer, val_frames, cfg.val_windows_per_frame, seeds[4])
        val_items = self._encode(val_frames, val_windows)
        val_owner = np.array([i for i, _ in val_windows])
        yv_win = yv[val_owner]

        fixed = (not cfg.resample_windows) or self.featurizer.whole_frame
        train_items = train_y = None
        n_per_epoch = (len(frames) if self.featurizer.whole_frame else len(frames) * cfg.windows_per_frame)
        steps_per_epoch = math.ceil(n_per_epoch / cfg.batch_size)
        weights = [p for n, p in self.model.named_parameters() if p.dim() > 1]
        self.history_ = []
        best = (-np.inf, np.inf)
        best_state = None
        step = 0
        old_threads = torch.get_num_threads()
        if cfg.threads:
            torch.set_num_threads(int(cfg.threads))
        try:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(cfg.seed)
                opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr_init)
                for epoch in range(1, cfg.epochs + 1):
                    t0 = time.perf_counter()
                    if train_items is None or not fixed:
                        wins = draw_windows(self.featurizer, frames, cfg.windows_per_frame, win_rng)
                        train_items = self._encode(frames, wins)
                        train_y = y[np.array([i for i, _ in wins])]
                    perm = shuffle_rng.permutation(len(train_items))
                    self.model.train()
                    total, count = 0.0, 0
                    for sl in _batches(len(perm), cfg.batch_size):
                        idx = perm[sl]
                        lr = lr_schedule(step, steps_per_epoch=steps_per_epoch, epochs=cfg.epochs,
                                         lr_init=cfg.lr_init, lr_max=cfg.lr_max, lr_final=cfg.lr_final,
                                         warmup_epochs=cfg.warmup_epochs)
                        for group in opt.param_groups:
                            group["lr"] = lr
                        batch = self.featurizer.collate([train_items[i] for i in idx], train=True, rng=aug_rng)
                        target = torch.from_numpy(train_y[idx]).to(device)
                        logits = self._logits(batch)
                        loss = F.cross_entropy(logits, target)
                        objective = loss + cfg.l2 * sum((w * w).sum() for w in weights) if cfg.l2 else loss
                        opt.zero_grad(set_to_none=True)
                        objective.backward()
                        if cfg.max_grad_norm:
                            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
                        opt.step()
                        step += 1
                        total += float(loss.detach()) * len(idx)
                        count += len(idx)
                    pw = self._window_proba(val_items, max(cfg.batch_size, 100))
                    val_loss = float(-np.mean(np.log(np.clip(pw[np.arange(len(yv_win)), yv_win], 1e-12, None))))
                    pc = self._aggregate(pw, val_owner, len(val_frames))
                    auc = roc_auc(yv, pc[:, 1])
                    wauc = roc_auc(yv_win, pw[:, 1])
                    entry = {"epoch": epoch, "train_loss": total / max(count, 1), "val_loss": val_loss,
                             "val_auc": auc, "val_window_auc": wauc, "lr": lr, "seconds": time.perf_counter() - t0}
                    self.history_.append(entry)
                    if callback is not None:
                        callback(entry)
                    score = {"auc": auc, "window_auc": wauc, "loss": -val_loss}[cfg.select]
                    if (score, -val_loss) > (best[0], -best[1]):
                        best = (score, val_loss)
                        best_state = copy.deepcopy(self.model.state_dict())
                        self.best_epoch_ = epoch
                    elif cfg.patience is not None and epoch - self.best_epoch_ >= cfg.patience:
                        break
        finally:
            torch.set_num_threads(old_threads)
        if best_state is not None:
            self.model.load_state_dict(best_state)
        self.model.eval()
        self.train_config_ = cfg
        return self

    # ------------------------------------------------------------------ prediction
    @staticmethod
    def _aggregate(pw: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
        sums = np.zeros((n, pw.shape[1]))
        np.add.at(sums, owner, pw)
        counts = np.bincount(owner, minlength=n).astype(float)
        return sums / counts[:, None]

    def predict_window_proba(self, frames: Sequence[Frame], windows: Sequence[tuple[int, Window]], *,
                             batch_size: int = 100) -> np.ndarray:
        """Class probabilities (n_windows, 2) of given ``(frame index, Window)`` pairs."""
        return self._window_proba(self._encode(list(frames), windows), batch_size)

    def predict_proba(self, frames: Sequence[Frame], *, n_windows: int = 10, seed: int = 0,
                      batch_size: int = 100) -> np.ndarray:
        """Class probabilities (n_frames, 2) of configurations: the mean of the probabilities of
        ``n_windows`` random windows of each (one window when windows are whole frames)."""
        frames = list(frames)
        if not frames:
            return np.zeros((0, self.model.n_classes))
        windows = draw_windows(self.featurizer, frames, n_windows, seed)
        pw = self.predict_window_proba(frames, windows, batch_size=batch_size)
        return self._aggregate(pw, np.array([i for i, _ in windows]), len(frames))

    def predict(self, frames: Sequence[Frame], **kwargs) -> np.ndarray:
        """Most probable label (0/1) of each configuration."""
        return np.argmax(self.predict_proba(frames, **kwargs), axis=1)

    def attention(self, frame: Frame, window: Window) -> dict:
        """The D-MPNN's edge attention on one window: ``src``, ``dst`` (rows of the frame),
        ``weights`` (one array per attention step; each sums to 1) and ``proba``."""
        if self.kind != "mpnn" or not self.model.attention:
            raise InputError("attention weights need an MPNN built with attention=True")
        g = self.featurizer.encode(frame, window)
        self.model.eval()
        with torch.no_grad():
            logits, alphas = self.model(self.featurizer.collate([g]).to(self.device))
        idx = np.asarray(window.indices)
        return {"src": idx[g.src], "dst": idx[g.dst], "weights": [a.cpu().double().numpy() for a in alphas],
                "proba": torch.softmax(logits.double(), 1).cpu().numpy()[0]}

    # ------------------------------------------------------------------ files
    def save(self, path, **kwargs):
        """Write a model file (see :func:`glassdyn.deep.modelfile.save_model`)."""
        from .modelfile import save_model
        return save_model(self, path, **kwargs)

    def training_description(self) -> dict:
        return {"config": None if self.train_config_ is None else asdict(self.train_config_),
                "history": self.history_, "best_epoch": self.best_epoch_}


def cnn_classifier(*, pixels: int = 250, side=1.0, augment: bool = True, image_size: int | None = None,
                   seed: int = 0, **cnn_params) -> DeepClassifier:
    """A CNN classifier on ``pixels``-wide images of windows (whole configurations by default);
    ``image_size`` (default ``pixels``) and the other keywords go to :class:`~glassdyn.deep.cnn.CNN`."""
    cnn_params["image_size"] = pixels if image_size is None else image_size
    return DeepClassifier("cnn", cnn_params, {"pixels": pixels, "side": side, "augment": augment}, seed=seed)


def mpnn_classifier(*, k: int = 2, side=(0.1, 0.3), n_types: int = 2, distance_scale: float = 1.0,
                    distance_offset: float = 0.0, seed: int = 0, **mpnn_params) -> DeepClassifier:
    """A D-MPNN classifier on k-nearest-neighbour graphs of random windows; the other keywords
    go to :class:`~glassdyn.deep.mpnn.DMPNN`."""
    return DeepClassifier("mpnn", mpnn_params, {"k": k, "side": side, "n_types": n_types,
                                                "distance_scale": distance_scale,
                                                "distance_offset": distance_offset}, seed=seed)
