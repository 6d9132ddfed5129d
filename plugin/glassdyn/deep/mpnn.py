"""Directed message-passing neural network (D-MPNN, Yang et al. 2019 / chemprop) with optional
edge self-attention (Swanson et al. II.4).

Notation: a batch holds graphs with node features ``x_v`` (one-hot particle type) and, for every
directed edge ``v -> w``, edge features ``e_vw`` (the distance) and the index of its reverse
edge ``w -> v``. With hidden size ``H`` and ``T = steps``::

    h0_vw     = ReLU(W_i [x_v || e_vw])                       (W_i: no bias unless bias=True)
    m_vw(t+1) = sum_{k in N(v) \\ w} h_kv(t)                   (= sum of edges into v - h_wv)
    h_vw(t+1) = ReLU(h0_vw + W_m m_vw(t+1))                    (W_m shared by every step)
    [attention, steps t < attention_steps]:
        a     = softmax over the edges of each graph of  w_a . ReLU(W_a h_vw)
        h_vw  = a_vw * h_vw
    h_vw(t+1) = dropout(h_vw(t+1))
    h_v       = dropout(ReLU(W_o [x_v || sum_{k in N(v)} h_kv(T)]))
    g         = sum_v h_v            (readout="sum", paper eq. 8; "mean" as the authors' code)
    logits    = FFN(g)               (ReLU + dropout between layers, chemprop's create_ffn)

The skip connection adds ``h0`` after its ReLU, as the papers write it (Yang et al. eq. 3-4,
Swanson et al. eq. 4 and 6); chemprop's code adds the pre-activation ``W_i [x_v || e_vw]``.

The message passing uses plain torch (``index_add_``, ``scatter_reduce``); no torch-geometric.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DMPNN", "GraphBatch", "segment_softmax"]


@dataclass
class GraphBatch:
    """Several graphs concatenated into one (node and edge indices offset per graph).

    Attributes
    ----------
    x : Tensor (N, n_node_features)
        Node features (one-hot types).
    edge_attr : Tensor (E, n_edge_features)
        Edge features (distance).
    src, dst : LongTensor (E,)
        Directed edges ``src -> dst`` (batch-wide node indices).
    rev : LongTensor (E,)
        Index of the reverse edge ``dst -> src`` of every edge.
    node_graph : LongTensor (N,)
        Graph of each node (0 .. n_graphs-1).
    edge_graph : LongTensor (E,)
        Graph of each edge.
    n_graphs : int
    """

    x: torch.Tensor
    edge_attr: torch.Tensor
    src: torch.Tensor
    dst: torch.Tensor
    rev: torch.Tensor
    node_graph: torch.Tensor
    edge_graph: torch.Tensor
    n_graphs: int

    def to(self, device=None, dtype=None) -> GraphBatch:
        """A copy on ``device``; float tensors also cast to ``dtype`` when given."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, torch.Tensor):
                v = v.to(device=device, dtype=dtype) if (dtype is not None and v.is_floating_point()) \
                    else v.to(device=device)
            out[f.name] = v
        return GraphBatch(**out)

    @property
    def n_nodes(self) -> int:
        return int(self.x.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.src.shape[0])


def segment_softmax(scores: torch.Tensor, segment: torch.Tensor, n_segments: int) -> torch.Tensor:
    """Softmax of ``scores`` (E,) within each segment (``segment`` (E,) in 0..n_segments-1)."""
    big = torch.full((n_segments,), float("-inf"), dtype=scores.dtype, device=scores.device)
    top = big.scatter_reduce(0, segment, scores, reduce="amax", include_self=True)
    e = torch.exp(scores - top[segment])
    den = torch.zeros(n_segments, dtype=scores.dtype, device=scores.device).index_add_(0, segment, e)
    return e / den[segment]


class DMPNN(nn.Module):
    """Directed MPNN classifier of graphs.

    Parameters
    ----------
    n_node_features : int
        Length of ``x_v`` (number of particle types for one-hot types).
    n_edge_features : int
        Length of ``e_vw`` (1: the distance).
    hidden : int
        Hidden size ``H`` of edge and node states (paper's search range: 300-2400).
    steps : int
        Message-passing steps ``T`` (paper: 2-6).
    dropout : float
        Dropout after each step, on node states and in the FFN (paper: 0-0.5).
    ffn_layers : int
        Layers of the feed-forward head (paper: 1-3).
    ffn_hidden : int, optional
        Width of its hidden layers (default ``hidden``).
    attention : bool
        Edge self-attention after each of the first ``attention_steps`` steps.
    attention_steps : int, optional
        How many of the first steps get attention (default: every step, as the authors' code).
    attention_hidden : int, optional
        Rows of ``W_a`` (default ``hidden``).
    readout : {"sum", "mean"}
        Node states summed (paper, eq. 8) or averaged (the authors' code) into the graph vector.
    bias : bool
        Bias in ``W_i`` and ``W_m`` (chemprop's default: none).
    n_classes : int
        Number of outputs (2: liquid, glass).
    """

    def __init__(self, n_node_features: int = 2, n_edge_features: int = 1, hidden: int = 300, steps: int = 3,
                 dropout: float = 0.0, ffn_layers: int = 2, ffn_hidden: int | None = None,
                 attention: bool = False, attention_steps: int | None = None,
                 attention_hidden: int | None = None, readout: str = "sum", bias: bool = False,
                 n_classes: int = 2):
        super().__init__()
        if min(n_node_features, n_edge_features, hidden, steps, ffn_layers, n_classes) < 1:
            raise ValueError("feature sizes, hidden, steps, ffn_layers and n_classes must be >= 1")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if readout not in ("sum", "mean"):
            raise ValueError(f"readout must be 'sum' or 'mean', got {readout!r}")
        self.n_node_features = int(n_node_features)
        self.n_edge_features = int(n_edge_features)
        self.hidden = int(hidden)
        self.steps = int(steps)
        self.dropout_p = float(dropout)
        self.ffn_layers = int(ffn_layers)
        self.ffn_hidden = int(ffn_hidden) if ffn_hidden is not None else self.hidden
        self.attention = bool(attention)
        self.attention_steps = self.steps if attention_steps is None else int(attention_steps)
        if not 0 <= self.attention_steps <= self.steps:
            raise ValueError(f"attention_steps must be in 0..steps ({self.steps}), got {attention_steps}")
        self.attention_hidden = int(attention_hidden) if attention_hidden is not None else self.hidden
        self.readout = readout
        self.bias = bool(bias)
        self.n_classes = int(n_classes)

        H = self.hidden
        self.W_i = nn.Linear(self.n_node_features + self.n_edge_features, H, bias=self.bias)
        self.W_m = nn.Linear(H, H, bias=self.bias)
        self.W_o = nn.Linear(self.n_node_features + H, H)
        if self.attention:
            self.W_a = nn.Linear(H, self.attention_hidden, bias=False)
            self.w_a = nn.Linear(self.attention_hidden, 1)  # its bias cancels in the softmax
        self.drop = nn.Dropout(self.dropout_p)
        layers: list[nn.Module] = [nn.Dropout(self.dropout_p)]
        width = H
        for _ in range(self.ffn_layers - 1):
            layers += [nn.Linear(width, self.ffn_hidden), nn.ReLU(), nn.Dropout(self.dropout_p)]
            width = self.ffn_hidden
        layers.append(nn.Linear(width, self.n_classes))
        self.ffn = nn.Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """chemprop's initialisation: Xavier-normal weights, zero biases."""
        for p in self.parameters():
            if p.dim() == 1:
                nn.init.zeros_(p)
            else:
                nn.init.xavier_normal_(p)

    def config(self) -> dict:
        """Every constructor argument (JSON-serialisable); ``DMPNN(**config())`` rebuilds the network."""
        return {"n_node_features": self.n_node_features, "n_edge_features": self.n_edge_features,
                "hidden": self.hidden, "steps": self.steps, "dropout": self.dropout_p,
                "ffn_layers": self.ffn_layers, "ffn_hidden": self.ffn_hidden, "attention": self.attention,
                "attention_steps": self.attention_steps, "attention_hidden": self.attention_hidden,
                "readout": self.readout, "bias": self.bias, "n_classes": self.n_classes}

    def _check(self, b: GraphBatch) -> None:
        if b.x.dim() != 2 or b.x.shape[1] != self.n_node_features:
            raise ValueError(f"node features must have shape (N, {self.n_node_features}), got {tuple(b.x.shape)}")
        if b.edge_attr.dim() != 2 or b.edge_attr.shape[1] != self.n_edge_features:
            raise ValueError(f"edge features must have shape (E, {self.n_edge_features}), "
                             f"got {tuple(b.edge_attr.shape)}")
        E = b.src.shape[0]
        if not (b.dst.shape[0] == b.rev.shape[0] == b.edge_graph.shape[0] == b.edge_attr.shape[0] == E):
            raise ValueError("src, dst, rev, edge_graph and edge_attr must have one row per edge")

    def embed(self, b: GraphBatch) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Graph vectors (n_graphs, hidden) and the attention weights of each attention step."""
        self._check(b)
        dtype = self.W_i.weight.dtype
        x = b.x.to(dtype)
        e = b.edge_attr.to(dtype)
        N, H = x.shape[0], self.hidden
        h0 = F.relu(self.W_i(torch.cat([x[b.src], e], dim=1)))  # (E, H)
        h = h0
        alphas: list[torch.Tensor] = []
        for t in range(self.steps):
            into = torch.zeros(N, H, dtype=dtype, device=h.device).index_add_(0, b.dst, h)
            m = into[b.src] - h[b.rev]  # for v -> w: sum over k -> v, without w -> v
            h = F.relu(h0 + self.W_m(m))
            if self.attention and t < self.attention_steps:
                score = self.w_a(F.relu(self.W_a(h))).squeeze(1)  # (E,)
                a = segment_softmax(score, b.edge_graph, b.n_graphs)
                alphas.append(a)
                h = a.unsqueeze(1) * h
            h = self.drop(h)
        into = torch.zeros(N, H, dtype=dtype, device=h.device).index_add_(0, b.dst, h)
        hv = self.drop(F.relu(self.W_o(torch.cat([x, into], dim=1))))
        g = torch.zeros(b.n_graphs, H, dtype=dtype, device=h.device).index_add_(0, b.node_graph, hv)
        if self.readout == "mean":
            count = torch.zeros(b.n_graphs, dtype=dtype, device=h.device).index_add_(
                0, b.node_graph, torch.ones(N, dtype=dtype, device=h.device))
            g = g / count.clamp_min(1.0).unsqueeze(1)
        return g, alphas

    def forward(self, batch: GraphBatch) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(logits, attention)``: logits (n_graphs, n_classes) and, when attention is on, a list
        with one tensor (E,) of per-edge weights for each attention step (empty list otherwise);
        within each graph the weights are non-negative and sum to 1."""
        g, alphas = self.embed(batch)
        return self.ffn(g), alphas
