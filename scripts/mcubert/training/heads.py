# SPDX-License-Identifier: Apache-2.0
"""The model of each task (the NLU contract's task model format) and loading a task model directory.

  classify, pair   BertForSequenceClassification, id2label = the classes
  regress          BertForSequenceClassification, num_labels 1, problem_type "regression"
  tag              BertForTokenClassification, id2label = BIO tags (no pooler)
  intent-slots     McubertForIntentSlots: BertModel (with pooler), `intent_classifier` on the pooled output,
                   `slot_classifier` on every token; config `intent_labels`, `slot_labels` ("O" first)

Every config.json also names its task: `"mcubert_task"`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn
from transformers import BertModel, BertPreTrainedModel
from transformers.utils import ModelOutput

from mcubert.training.config import TASKS
from mcubert.training.errors import TrainError

ARCHITECTURES = {"classify": "BertForSequenceClassification", "pair": "BertForSequenceClassification",
                 "regress": "BertForSequenceClassification", "tag": "BertForTokenClassification",
                 "intent-slots": "McubertForIntentSlots"}

__all__ = ["ARCHITECTURES", "IntentSlotsOutput", "McubertForIntentSlots", "TASKS", "head_config", "load_task_model",
           "model_class", "task_of"]


@dataclasses.dataclass
class IntentSlotsOutput(ModelOutput):
    """intent_logits (batch, n_intents), slot_logits (batch, tokens, n_slot_tags) and, when asked for, the
    hidden states (embeddings, then each layer's output)."""

    intent_logits: torch.Tensor | None = None
    slot_logits: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None


class McubertForIntentSlots(BertPreTrainedModel):
    """Joint intent classification and slot filling (JointBERT): the pooled output gives the intent, every
    token's final hidden state its BIO slot tag."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=True)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.intent_classifier = nn.Linear(config.hidden_size, len(config.intent_labels))
        self.slot_classifier = nn.Linear(config.hidden_size, len(config.slot_labels))
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, output_hidden_states: bool = False,
                **_: Any) -> IntentSlotsOutput:
        out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                        output_hidden_states=output_hidden_states)
        return IntentSlotsOutput(intent_logits=self.intent_classifier(self.dropout(out.pooler_output)),
                                 slot_logits=self.slot_classifier(self.dropout(out.last_hidden_state)),
                                 hidden_states=out.hidden_states if output_hidden_states else None)


def _names(labels: Sequence[str]) -> dict[str, Any]:
    return {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
            "label2id": {lab: i for i, lab in enumerate(labels)}}


def head_config(task: str, classes: Sequence[str] = (), tags: Sequence[str] = ()) -> dict[str, Any]:
    """The config.json entries of a task's head: labels, architectures, `mcubert_task`."""
    if task not in TASKS:
        raise TrainError(f"unknown task {task!r} (one of {', '.join(TASKS)})")
    head: dict[str, Any] = {"mcubert_task": task, "architectures": [ARCHITECTURES[task]]}
    if task in ("classify", "pair"):
        head.update(_names(classes))
    elif task == "regress":
        head.update(_names(["score"]), problem_type="regression")
    elif task == "tag":
        head.update(_names(tags))
    else:
        head.update(_names(classes), intent_labels=list(classes), slot_labels=list(tags))
    return head


def model_class(task: str) -> Any:
    """The torch module class of a task."""
    from transformers import BertForSequenceClassification, BertForTokenClassification

    return {"tag": BertForTokenClassification,
            "intent-slots": McubertForIntentSlots}.get(task, BertForSequenceClassification)


def task_of(config: dict[str, Any]) -> str:
    """The task of a model config: `mcubert_task`, else from its architecture (classify by default)."""
    task = config.get("mcubert_task")
    if task is not None:
        if task not in TASKS:
            raise TrainError(f"unknown mcubert_task {task!r} in the model's config (one of {', '.join(TASKS)})")
        return str(task)
    arch = (config.get("architectures") or [""])[0]
    if arch == "BertForTokenClassification":
        return "tag"
    if arch == "McubertForIntentSlots":
        return "intent-slots"
    return "regress" if config.get("problem_type") == "regression" else "classify"


def load_task_model(path: str | Path) -> tuple[str, Any]:
    """(task, model in eval mode) of a task model directory (config.json + model.safetensors)."""
    path = Path(path)
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as e:
        raise TrainError(f"{path}: not a model directory ({e})") from None
    task = task_of(config)
    model = model_class(task).from_pretrained(str(path))
    model.eval()
    return task, model
