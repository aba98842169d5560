# SPDX-License-Identifier: Apache-2.0
"""Clustered low-rank word embeddings and the two-stage MCU-aware search that sizes them.

The word-embedding table is ~90 % of a BERT-tiny classifier (30522 x 128 of 4.39 M parameters).
`embedding.ClusteredLowRankEmbedding` replaces it: the vocabulary is split into K clusters; cluster i holds
a table T_i (n_i x r_i) and a projection P_i (r_i x d), and token t is embedded as T_c(t)[j(t)] @ P_c(t).

Modules, in the order a run uses them (`mcubert search`, `mcubert distill`; `mcubert compress` runs both):

  corpus      the labelled text, tokenised once (a task model's teacher: its task's examples and labels)
  importance  per-token Fisher importance and the d x d Fisher metric of embedding space: reconstruction
              errors are measured as w_t (e - e^)^T M (e - e^) (M normalised, plus 0.05 I), so directions
              the teacher's decision does not depend on cost little (the biggest single gain of the search:
              teacher-student KL on SST-2 dev before distillation 0.043 instead of 0.064, agreement 94.2 %
              instead of 91.2 %)
  budget      parameters, estimated blob bytes and MACs; what the word embedding may spend
  clusters    stage 1 (importance bands split by spherical k-means, then rate-distortion k-subspaces) and
              stage 2 (ranks, greedy by error reduction per parameter, `rank_step` for SIMD-friendly ranks)
  ffn         the encoder's shape: FFN neurons of least output energy E[a_j^2] |W_out[:, j]|^2 pruned
  baselines   one global truncated SVD, and vocabulary pruning, at the same budget
  search      the driver: OUT/init.pt and OUT/search.json (several FFN widths: each distilled for a few
              steps and scored on held-out training sentences, the best wins)
  model_io    model.pt in the converter's contract format, any task's model (the task model directory
              too); `score` (accuracy or the task's), `describe`, `evaluate_checkpoint`
  pipeline    `compress`: search, then distillation (`mcubert.training.distill`) on data read once

Timings on the shared 2-core development CPU, one thread, BERT-tiny on SST-2 (67k phrases): data 5-25 s,
importance 40-105 s, search 10-30 s per cluster count (50-70 s for 16,32,64), distillation 100-250 s per
epoch (the spread is the load of other jobs on the machine).
"""
