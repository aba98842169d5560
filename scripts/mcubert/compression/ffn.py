# SPDX-License-Identifier: Apache-2.0
"""The encoder's shape: structured pruning of the FFN to the neurons of highest output energy."""

from __future__ import annotations

import copy
from typing import Any, Sequence

import torch
from torch import nn
from tqdm import tqdm

from mcubert.compression.errors import CompressError
from mcubert.training import collate


@torch.no_grad()
def ffn_output_energy(model: nn.Module, seqs: Sequence[Sequence[int]], limit: int = 4000, batch_size: int = 64,
                      progress: bool = True) -> list[torch.Tensor]:
    """Per layer and FFN neuron j: E[a_j^2] |W_out[:, j]|^2 over the tokens of `seqs` (the first `limit`),
    a_j the neuron's activation: the mean energy neuron j adds to the layer's output."""
    model.eval()
    layers = model.bert.encoder.layer
    sums = [torch.zeros(int(lay.intermediate.dense.out_features), dtype=torch.float64) for lay in layers]
    mask: list[torch.Tensor] = []
    handles = []
    for i, lay in enumerate(layers):
        def hook(_m: nn.Module, _inp: Any, out: torch.Tensor, i: int = i) -> None:
            sums[i] += out[mask[0]].double().pow(2).sum(0)
        handles.append(lay.intermediate.register_forward_hook(hook))
    order = sorted(range(min(limit, len(seqs))), key=lambda i: len(seqs[i]))
    n_tok = 0
    try:
        for s in tqdm(range(0, len(order), batch_size), desc="FFN energy", unit="batch", disable=not progress,
                      dynamic_ncols=True, leave=False):
            batch = collate([seqs[i] for i in order[s:s + batch_size]])
            mask[:] = [batch["attention_mask"].bool()]
            n_tok += int(mask[0].sum())
            model(**batch)
    finally:
        for h in handles:
            h.remove()
    return [sm / max(n_tok, 1) * lay.output.dense.weight.detach().double().pow(2).sum(0)
            for sm, lay in zip(sums, layers)]


@torch.no_grad()
def prune_ffn(model: nn.Module, width: int, energy: Sequence[torch.Tensor]) -> nn.Module:
    """A copy of `model` whose FFNs keep the `width` neurons of highest output energy (structured pruning:
    the layers stay dense, only narrower; the runtime needs nothing new)."""
    out = copy.deepcopy(model)
    d = int(out.config.hidden_size)
    for lay, e in zip(out.bert.encoder.layer, energy):
        f = int(lay.intermediate.dense.out_features)
        if not 0 < width <= f:
            raise CompressError(f"FFN width {width} is not between 1 and the teacher's {f}")
        keep = torch.sort(torch.topk(e, width).indices).values
        up, down = lay.intermediate.dense, lay.output.dense
        new_up, new_down = nn.Linear(d, width), nn.Linear(width, d)
        new_up.weight.copy_(up.weight[keep])
        new_up.bias.copy_(up.bias[keep])
        new_down.weight.copy_(down.weight[:, keep])
        new_down.bias.copy_(down.bias)
        lay.intermediate.dense, lay.output.dense = new_up, new_down
    out.config.intermediate_size = width
    return out
