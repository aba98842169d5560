# SPDX-License-Identifier: Apache-2.0
"""Metrics of every task from predictions (float model or blob alike): no model, no torch here.

  accuracy        classify, pair, intents
  slot_f1         slots: a predicted slot is correct when its name and text equal a gold slot's
                  (each gold slot matches once), micro-averaged over the dataset
  tag_metrics     token tagging: word accuracy, and chunk F1 of the decoded slots (name, first, last word)
  regression      MSE and Pearson correlation
  intent_slots    intent accuracy, slot F1 and whole-frame accuracy of intent+slots predictions
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Hashable, Sequence

from mcubert.training.slots import decode_slots

__all__ = ["accuracy", "intent_slots", "regression", "slot_f1", "tag_metrics"]


def accuracy(pred: Sequence[Hashable], gold: Sequence[Hashable]) -> float:
    """The fraction of equal pairs (0 for no examples)."""
    return sum(p == g for p, g in zip(pred, gold)) / max(len(gold), 1)


def slot_f1(pred: Sequence[Sequence[Hashable]], gold: Sequence[Sequence[Hashable]]) -> dict[str, float]:
    """Micro precision, recall and F1 of predicted slots (any hashable: (name, text)) per example."""
    correct = n_pred = n_gold = 0
    for p, g in zip(pred, gold):
        correct += sum((Counter(p) & Counter(g)).values())
        n_pred += len(p)
        n_gold += len(g)
    prec = correct / n_pred if n_pred else 0.0
    rec = correct / n_gold if n_gold else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"slot_precision": prec, "slot_recall": rec, "slot_f1": f1, "slots_correct": correct,
            "slots_predicted": n_pred, "slots_gold": n_gold}


def _chunks(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    return [(s.name, s.start, s.end) for s in decode_slots(tags, [(i, i + 1) for i in range(len(tags))])]


def tag_metrics(pred: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> dict[str, float]:
    """Word-tag accuracy and chunk F1 (conlleval: a chunk is correct when its name and words match)."""
    words = sum(len(g) for g in gold)
    right = sum(p == g for ps, gs in zip(pred, gold) for p, g in zip(ps, gs))
    f1 = slot_f1([_chunks(p) for p in pred], [_chunks(g) for g in gold])
    return {"tag_accuracy": right / max(words, 1), "tag_f1": f1["slot_f1"], "tag_precision": f1["slot_precision"],
            "tag_recall": f1["slot_recall"]}


def regression(pred: Sequence[float], gold: Sequence[float]) -> dict[str, float]:
    """Mean squared error and Pearson correlation (0 when either side is constant)."""
    n = max(len(gold), 1)
    mse = sum((p - g) ** 2 for p, g in zip(pred, gold)) / n
    mp, mg = sum(pred) / n, sum(gold) / n
    cov = sum((p - mp) * (g - mg) for p, g in zip(pred, gold))
    vp, vg = sum((p - mp) ** 2 for p in pred), sum((g - mg) ** 2 for g in gold)
    return {"mse": mse, "pearson": cov / math.sqrt(vp * vg) if vp > 0 and vg > 0 else 0.0}


def intent_slots(pred_intents: Sequence[str | None], gold_intents: Sequence[str | None],
                 pred_slots: Sequence[Sequence[Hashable]], gold_slots: Sequence[Sequence[Hashable]]) -> dict[str, Any]:
    """Intent accuracy, slot F1 (+ precision, recall, counts) and frame accuracy (intent and every slot right)."""
    frames = sum(pi == gi and Counter(ps) == Counter(gs)
                 for pi, gi, ps, gs in zip(pred_intents, gold_intents, pred_slots, gold_slots))
    return {"intent_accuracy": accuracy(pred_intents, gold_intents), **slot_f1(pred_slots, gold_slots),
            "frame_accuracy": frames / max(len(gold_intents), 1)}
