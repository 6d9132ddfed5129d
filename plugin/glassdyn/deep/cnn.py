"""The CNN of Swanson et al. (II.3.1): two convolutional layers and a fully connected layer.

Default architecture (LeNet-like, as the paper's figure shows), for a 250 x 250 RGB input::

    input            3 x 250 x 250
    conv 5x5, 6      6 x 246 x 246   + bias, ReLU, no padding, stride 1
    max pool 2x2     6 x 123 x 123
    conv 5x5, 16    16 x 119 x 119   + bias, ReLU, no padding, stride 1
    max pool 2x2    16 x  59 x  59
    flatten          55696
    dense 80         + bias, ReLU, dropout
    dense 2          logits

The paper's text lost the kernel sizes and the size of the feature maps. The authors' published
TensorFlow code (glassML, ``CNN/model.py``) uses a 10 x 10 first kernel and *no* pooling
(16 x 237 x 237 feature maps, 72 M weights in the dense layer); ``CNN(kernel_sizes=(10, 5),
pool=None)`` builds that variant.

Inputs of another size than ``image_size`` are first resampled to ``image_size`` by area
averaging (:func:`torch.nn.functional.adaptive_avg_pool2d`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CNN"]


class CNN(nn.Module):
    """Two conv layers (+ ReLU, optional max pooling), a ReLU dense layer with dropout, logits.

    Parameters
    ----------
    image_size : int
        Side of the (square) images the network works on; other inputs are resampled to it.
    channels : (int, int)
        Number of kernels of the two convolutional layers (paper: 6 and 16).
    kernel_sizes : (int, int)
        Kernel sides (default 5 and 5).
    pool : int or None
        Side of the max-pooling window after each conv layer (default 2; None or 1: no pooling).
    fc : int
        Width of the fully connected layer (paper: 80).
    dropout : float
        Dropout probability after the fully connected layer.
    n_classes : int
        Number of outputs (2: liquid, glass).
    in_channels : int
        Colour channels of the input (3: RGB).
    """

    def __init__(self, image_size: int = 250, channels=(6, 16), kernel_sizes=(5, 5), pool: int | None = 2,
                 fc: int = 80, dropout: float = 0.0, n_classes: int = 2, in_channels: int = 3):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        kernel_sizes = tuple(int(k) for k in kernel_sizes)
        if len(channels) != 2 or len(kernel_sizes) != 2 or min(channels + kernel_sizes) < 1:
            raise ValueError(f"channels and kernel_sizes must be two positive integers each, "
                             f"got {channels} and {kernel_sizes}")
        pool = None if pool in (None, 0, 1) else int(pool)
        if pool is not None and pool < 1:
            raise ValueError(f"pool must be None or a positive integer, got {pool}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.image_size = int(image_size)
        self.channels = channels
        self.kernel_sizes = kernel_sizes
        self.pool = pool
        self.fc_size = int(fc)
        self.dropout_p = float(dropout)
        self.n_classes = int(n_classes)
        self.in_channels = int(in_channels)

        side = self.image_size
        for k in kernel_sizes:
            side = side - k + 1
            if pool is not None:
                side //= pool
            if side < 1:
                raise ValueError(f"image_size {image_size} is too small for kernels {kernel_sizes} and pooling {pool}")
        self.feature_side = side
        self.conv1 = nn.Conv2d(self.in_channels, channels[0], kernel_sizes[0])
        self.conv2 = nn.Conv2d(channels[0], channels[1], kernel_sizes[1])
        self.fc1 = nn.Linear(channels[1] * side * side, self.fc_size)
        self.dropout = nn.Dropout(self.dropout_p)
        self.out = nn.Linear(self.fc_size, self.n_classes)

    def config(self) -> dict:
        """Every constructor argument (JSON-serialisable); ``CNN(**config())`` rebuilds the network."""
        return {"image_size": self.image_size, "channels": list(self.channels),
                "kernel_sizes": list(self.kernel_sizes), "pool": self.pool, "fc": self.fc_size,
                "dropout": self.dropout_p, "n_classes": self.n_classes, "in_channels": self.in_channels}

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Flattened output of the convolutional part, shape (B, channels[1] * feature_side**2)."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected images of shape (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        x = x.to(self.conv1.weight.dtype)
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = F.adaptive_avg_pool2d(x, self.image_size)
        x = F.relu(self.conv1(x))
        if self.pool is not None:
            x = F.max_pool2d(x, self.pool)
        x = F.relu(self.conv2(x))
        if self.pool is not None:
            x = F.max_pool2d(x, self.pool)
        return torch.flatten(x, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_classes) of images ``x`` (B, C, H, W) with values in [0, 1]."""
        h = self.dropout(F.relu(self.fc1(self.features(x))))
        return self.out(h)
