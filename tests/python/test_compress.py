# SPDX-License-Identifier: Apache-2.0
"""Smoke tests of the clustered low-rank embedding (mcubert.compression): the module, the SVD
initialisation, the budgeted search, the contract file format and a tiny end-to-end run."""

from __future__ import annotations

import copy
import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest

try:
    import mcubert  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from mcubert import cli  # noqa: E402
from mcubert.compression import clusters, corpus, embedding, errors, ffn, importance, model_io  # noqa: E402
from mcubert.compression.budget import Budget, nonword_params  # noqa: E402
from mcubert.compression.embedding import ClusteredLowRankEmbedding  # noqa: E402
from mcubert.training.distill import STATE_FILE  # noqa: E402

EMB = "bert.embeddings.word_embeddings."


def _random_module(V: int = 97, d: int = 16, K: int = 4, seed: int = 0) -> ClusteredLowRankEmbedding:
    g = torch.Generator().manual_seed(seed)
    cluster = torch.randint(0, K, (V,), generator=g)
    cluster[:K] = torch.arange(K)  # none empty
    E = torch.randn(V, d, generator=g)
    ranks = [1 + i * (d - 1) // max(K - 1, 1) for i in range(K)]
    return ClusteredLowRankEmbedding.from_dense(E, cluster, ranks)


def test_forward_equals_dense_equivalent() -> None:
    mod = _random_module()
    with torch.no_grad():  # train the factors a little away from the SVD init: any values must agree
        for t in mod.table:
            t.add_(0.1 * torch.randn_like(t))
    sd = {EMB + k: v for k, v in mod.state_dict().items()}
    dense = embedding.dense_equivalent(sd)
    ids = torch.randint(0, mod.num_embeddings, (3, 11))
    out = mod(ids)
    assert out.shape == (3, 11, 16)
    torch.testing.assert_close(out, torch.nn.functional.embedding(ids, dense), rtol=0, atol=1e-6)
    torch.testing.assert_close(mod.dense(), dense, rtol=0, atol=1e-6)
    # gradients reach every table row that was used, and the projections
    mod(ids).sum().backward()
    used = set(ids.flatten().tolist())
    for t in used:
        c, r = int(mod.cluster[t]), int(mod.row[t])
        assert mod.table[c].grad[r].abs().sum() > 0


def test_full_rank_svd_reproduces_the_table() -> None:
    g = torch.Generator().manual_seed(1)
    V, d = 50, 8
    E = torch.randn(V, d, generator=g)
    cluster = torch.tensor([i % 3 for i in range(V)])
    w = torch.rand(V, generator=g)
    mod = ClusteredLowRankEmbedding.from_dense(E, cluster, [d, d, d], importance=w)
    torch.testing.assert_close(mod.dense(), E, rtol=0, atol=1e-5)
    # truncated: the error is the sum of the discarded weighted singular values
    mod2 = ClusteredLowRankEmbedding.from_dense(E, cluster, [2, 3, 4], importance=w)
    err = (w[:, None].double() * (mod2.dense().detach().double() - E.double()) ** 2).sum()
    s2s, _, norms = clusters.cluster_spectra(E, w.double(), cluster, 3)
    assert float(err) == pytest.approx(clusters.error_at(s2s, norms, [2, 3, 4]), rel=1e-4)


def test_svd_in_a_metric() -> None:
    g = torch.Generator().manual_seed(3)
    V, d = 40, 6
    E = torch.randn(V, d, generator=g)
    A = torch.randn(d, d, generator=g)
    L = importance.metric_factor((A @ A.T).numpy(), 0.1)
    cluster = torch.tensor([i % 2 for i in range(V)])
    full = ClusteredLowRankEmbedding.from_dense(E, cluster, [d, d], metric_l=L)
    torch.testing.assert_close(full.dense(), E, rtol=0, atol=1e-4)
    low = ClusteredLowRankEmbedding.from_dense(E, cluster, [2, 3], metric_l=L)
    torch.testing.assert_close(low.proj[0].norm(dim=1), torch.ones(2))  # balanced: unit projection rows
    # the error in the metric is the discarded spectrum of E L, and below the plain SVD's
    err_m = (((low.dense().detach().double() - E.double()) @ L) ** 2).sum()
    s2s, _, norms = clusters.cluster_spectra(E.double() @ L, torch.ones(V, dtype=torch.float64), cluster, 2)
    assert float(err_m) == pytest.approx(clusters.error_at(s2s, norms, [2, 3]), rel=1e-4)
    plain = ClusteredLowRankEmbedding.from_dense(E, cluster, [2, 3])
    assert float(err_m) <= float((((plain.dense().detach().double() - E.double()) @ L) ** 2).sum()) + 1e-9


@pytest.mark.parametrize("units", [3_000, 9_000, 40_000])
def test_search_respects_the_budget(units: int) -> None:
    g = torch.Generator().manual_seed(2)
    V, d = 400, 32
    E = torch.randn(V, 6, generator=g) @ torch.randn(6, d, generator=g) + 0.1 * torch.randn(V, d, generator=g)
    w = torch.rand(V, generator=g).double() ** 3
    budget = Budget(units=units, kind="params", total=units, fixed=0)
    fit, hist = clusters.search_clusters(E, w, budget, 8, bands=(50, 150), seed=0, iters=4, progress=False)
    used = sum((n + d) * r for n, r in zip(fit.sizes, fit.ranks))
    assert used == fit.units <= units
    assert sum(fit.sizes) == V and min(fit.ranks) >= 1
    assert fit.error <= hist[0]["error"] + 1e-9  # refinement never returns worse than its start
    mod = ClusteredLowRankEmbedding.from_dense(E, fit.cluster, fit.ranks, w)
    assert mod.n_params() == used
    # more budget, no more error
    if units < 40_000:
        fit2, _ = clusters.search_clusters(E, w, Budget(units * 2, "params", units * 2, 0), 8,
                                           bands=(50, 150), seed=0, iters=4, progress=False)
        assert fit2.error <= fit.error


def test_search_with_token_pools_and_rank_floors() -> None:
    g = torch.Generator().manual_seed(4)
    V, d = 300, 16
    E = torch.randn(V, d, generator=g)
    w = torch.rand(V, generator=g).double()
    pool = (torch.arange(V) >= 200).long()  # 200 "seen" tokens, 100 "unseen"
    budget = Budget(units=3_000, kind="params", total=3_000, fixed=0)
    fit, _ = clusters.search_clusters(E, w, budget, 6, bands=(20,), seed=0, iters=3, pool=pool,
                                      pool_min_rank=[3, 1], progress=False)
    assert fit.units <= 3_000 and fit.pools is not None
    for c, (p, r) in enumerate(zip(fit.pools, fit.ranks)):
        members = pool[fit.cluster == c]
        assert bool((members == p).all())  # no cluster mixes pools
        assert r >= (3 if p == 0 else 1)


def test_rank_allocation_is_greedy_optimal_on_concave_gains() -> None:
    s2s = [torch.tensor([9.0, 4.0, 1.0, 0.5]), torch.tensor([5.0, 5.0, 5.0, 0.1])]
    ranks, price = clusters.allocate_ranks(s2s, [10, 10], 4, units=(10 + 4) * 5)
    assert sum((10 + 4) * r for r in ranks) <= (10 + 4) * 5
    assert ranks == [2, 3] and price > 0
    with pytest.raises(errors.CompressError):
        clusters.allocate_ranks(s2s, [10, 10], 4, units=20)


def _tiny_model(V: int = 60, d: int = 16):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=V, hidden_size=d, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                     max_position_embeddings=32, num_labels=2, id2label={0: "negative", 1: "positive"},
                     label2id={"negative": 0, "positive": 1})
    return BertForSequenceClassification(cfg).eval()


def test_save_load_round_trip_in_the_contract_format(tmp_path: Path) -> None:
    teacher = _tiny_model()
    E = teacher.bert.embeddings.word_embeddings.weight.detach()
    cluster = torch.tensor([i % 3 for i in range(E.shape[0])])
    emb = ClusteredLowRankEmbedding.from_dense(E, cluster, [4, 2, 1])
    student = model_io.compressed_student(teacher, emb, max_pos=16).eval()
    path = tmp_path / "model.pt"
    model_io.save_compressed(path, student, model_io.model_config(student))
    raw = torch.load(path, map_location="cpu", weights_only=True)
    sd, cfg = raw["state_dict"], raw["config"]
    assert EMB + "weight" not in sd
    assert sd[EMB + "cluster"].dtype == torch.int64 and sd[EMB + "cluster"].shape == (60,)
    assert sd[EMB + "row"].dtype == torch.int64
    assert [tuple(sd[EMB + f"table.{i}"].shape) for i in range(3)] == [(20, 4), (20, 2), (20, 1)]
    assert [tuple(sd[EMB + f"proj.{i}"].shape) for i in range(3)] == [(4, 16), (2, 16), (1, 16)]
    assert cfg["mcubert_embedding"] == {"kind": "clustered_low_rank", "clusters": 3, "ranks": [4, 2, 1],
                                        "sizes": [20, 20, 20]}
    assert cfg["max_position_embeddings"] == 16
    config, sd2 = model_io.load_compressed(path)
    torch.testing.assert_close(embedding.dense_equivalent(sd2), emb.dense().detach())
    _, again = model_io.load_any(path)
    ids = torch.tensor([[2, 7, 33, 59, 3]])
    with torch.no_grad():
        torch.testing.assert_close(again(input_ids=ids).logits, student(input_ids=ids).logits)
    # float16 storage halves the file and stays close
    model_io.save_compressed(tmp_path / "half.pt", student, model_io.model_config(student), dtype=torch.float16)
    _, half = model_io.load_any(tmp_path / "half.pt")
    with torch.no_grad():
        torch.testing.assert_close(half(input_ids=ids).logits, student(input_ids=ids).logits, atol=5e-3, rtol=0)


def write_task(root: Path) -> dict[str, Path]:
    pos, neg = ["good", "great", "fine", "fun"], ["bad", "awful", "dull", "weak"]
    fill = ["the", "a", "film", "movie", "is", "was", "very", "and", "story", "plot", "it", "not"]
    extra = [f"w{i}" for i in range(40)]  # rare words, a tail for the clusters
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ",", "."] + pos + neg + fill + extra
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n")
    rng = random.Random(1)

    def rows(n: int) -> str:
        out = ["sentence\tlabel"]
        for _ in range(n):
            y = rng.randint(0, 1)
            words = [rng.choice(fill + extra[:10]) for _ in range(rng.randint(2, 8))]
            words.insert(rng.randint(0, len(words)), rng.choice(pos if y else neg))
            out.append(" ".join(words) + " \t" + str(y))
        return "\n".join(out) + "\n"

    (root / "train.tsv").write_text(rows(160))
    (root / "dev.tsv").write_text(rows(40))
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64, num_labels=2,
                     id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1})
    BertForSequenceClassification(cfg).save_pretrained(str(root / "teacher"))
    return {"train": root / "train.tsv", "dev": root / "dev.tsv", "vocab": root / "vocab.txt",
            "teacher": root / "teacher"}


def test_compress_end_to_end_and_resume(tmp_path: Path) -> None:
    f = write_task(tmp_path)
    common = ["--train", str(f["train"]), "--dev", str(f["dev"]), "--vocab", str(f["vocab"]), "--no-progress",
              "--teacher", str(f["teacher"])]
    search = ["--param-budget", "0", "--clusters", "2,4", "--bands", "8,20", "--max-pos", "32", "--iters", "3"]
    cfg = json.loads((f["teacher"] / "config.json").read_text())
    budget = nonword_params(cfg, 32) + 900
    search[1] = str(budget)
    out = tmp_path / "run"
    steps = ["--epochs", "3", "--max-steps", "12", "--eval-every", "5"]
    assert cli.main(["compress", "--out", str(out)] + steps + ["--save-every", "4", "--stop-after", "8"]
                         + search + common) == 0
    assert (out / STATE_FILE).is_file()
    assert cli.main(["compress", "--out", str(out)] + steps + ["--resume"] + search + common) == 0
    resumed = json.loads((out / "finetune.json").read_text())
    assert resumed["step"] == 12 and resumed["finished"]
    info = model_io.describe(out / "model.pt")
    assert info["params"] <= budget
    # an uninterrupted run gives the same history
    out2 = tmp_path / "run2"
    assert cli.main(["compress", "--out", str(out2)] + steps + ["--save-every", "4"] + search + common) == 0
    straight = json.loads((out2 / "finetune.json").read_text())
    assert [h["dev_accuracy"] for h in straight["history"]] == [h["dev_accuracy"] for h in resumed["history"]]
    s1 = torch.load(out / "model.pt", weights_only=True)["state_dict"]
    s2 = torch.load(out2 / "model.pt", weights_only=True)["state_dict"]
    for k in s1:
        torch.testing.assert_close(s1[k], s2[k], rtol=0, atol=0)
    for method in ("svd", "prune"):
        o = tmp_path / method
        assert cli.main(["search", "--out", str(o), "--method", method] + search + common) == 0
        assert model_io.describe(o / "init.pt")["params"] <= budget


def test_the_converter_reads_the_contract_format(tmp_path: Path) -> None:
    from mcubert.conversion import checkpoint
    from mcubert.numerics import quantize

    if not hasattr(checkpoint.Checkpoint, "clustered"):
        pytest.skip("converter without clustered low-rank embeddings")
    teacher = _tiny_model()
    E = teacher.bert.embeddings.word_embeddings.weight.detach()
    emb = ClusteredLowRankEmbedding.from_dense(E, torch.tensor([i % 3 for i in range(E.shape[0])]), [4, 2, 1])
    student = model_io.compressed_student(teacher, emb, max_pos=16).eval()
    path = tmp_path / "model.pt"
    model_io.save_compressed(path, student, model_io.model_config(student), dtype=torch.float16)
    ck = checkpoint.load(path)
    assert ck.clustered
    _, sd = model_io.load_compressed(path)
    np.testing.assert_allclose(ck.word_embeddings(), embedding.dense_equivalent(sd).numpy(), atol=1e-6)
    rng = np.random.default_rng(0)
    seqs = [(rng.integers(0, 60, size=n), np.zeros(n, dtype=np.int64)) for n in (3, 9, 16)]
    data = quantize.quantize(ck, quantize.calibrate(ck, seqs), 16)
    assert len(data) > 0


def test_ffn_pruning_keeps_the_highest_energy_neurons_exactly() -> None:
    """prune_ffn at full width is the identity; pruning drops exactly the neurons of least output energy."""
    from mcubert.training import collate

    teacher = _tiny_model()
    seqs = [[2, 7, 33, 59, 3], [2, 11, 3], [2, 40, 41, 42, 43, 44, 3]]
    energy = ffn.ffn_output_energy(teacher, seqs, progress=False)
    f = teacher.config.intermediate_size
    assert [tuple(e.shape) for e in energy] == [(f,)] * teacher.config.num_hidden_layers
    batch = collate(seqs)
    with torch.no_grad():
        same = ffn.prune_ffn(teacher, f, energy)
        torch.testing.assert_close(same(**batch).logits, teacher(**batch).logits, rtol=0, atol=0)
        # zero the up-projection of the lowest-energy neurons by hand: pruning them gives the same network
        w = f // 2
        drop = torch.argsort(energy[0])[: f - w]
        ref = copy.deepcopy(teacher)
        lay = ref.bert.encoder.layer[0]
        lay.output.dense.weight[:, drop] = 0
        pruned = ffn.prune_ffn(teacher, w, [energy[0]] + [torch.ones(f)] * (len(energy) - 1))
        assert pruned.config.intermediate_size == w
        assert pruned.bert.encoder.layer[0].intermediate.dense.weight.shape == (w, teacher.config.hidden_size)
        torch.testing.assert_close(pruned.bert.encoder.layer[0](
            ref.bert.embeddings(batch["input_ids"]))[0], lay(ref.bert.embeddings(batch["input_ids"]))[0])
    with pytest.raises(errors.CompressError, match="FFN width"):
        ffn.prune_ffn(teacher, f + 1, energy)


def test_shape_search_picks_a_width_within_the_budget(tmp_path: Path) -> None:
    f = write_task(tmp_path)
    common = ["--train", str(f["train"]), "--dev", str(f["dev"]), "--vocab", str(f["vocab"]), "--no-progress",
              "--teacher", str(f["teacher"])]
    cfg = json.loads((f["teacher"] / "config.json").read_text())
    budget = nonword_params(cfg, 32) + 900
    out = tmp_path / "shape"
    assert cli.main(["search", "--out", str(out), "--param-budget", str(budget), "--clusters", "2",
                          "--bands", "8,20", "--max-pos", "32", "--iters", "2", "--ffn", "16,32,64",
                          "--shape-steps", "3"] + common) == 0
    res = json.loads((out / "search.json").read_text())
    assert [c["ffn"] for c in res["shape_candidates"]] == [16, 32, 64]
    chosen = res["chosen_ffn"]
    assert chosen in (16, 32, 64) and res["ffn"] == chosen
    best = max(c["heldout_accuracy"] for c in res["shape_candidates"])
    assert next(c for c in res["shape_candidates"] if c["ffn"] == chosen)["heldout_accuracy"] == best
    info = model_io.describe(out / "init.pt")
    assert info["params"] <= budget and info["params"] == res["params"]
    config, _ = model_io.load_compressed(out / "init.pt")
    assert config["intermediate_size"] == chosen
    # narrower FFNs leave more of the budget to the word embedding
    emb = {c["ffn"]: c["embedding_params"] for c in res["shape_candidates"]}
    assert emb[16] > emb[32] > emb[64]


def test_a_logit_teacher_is_cached_once(tmp_path: Path) -> None:
    f = write_task(tmp_path)
    common = ["--train", str(f["train"]), "--dev", str(f["dev"]), "--vocab", str(f["vocab"]), "--no-progress",
              "--teacher", str(f["teacher"])]
    cfg = json.loads((f["teacher"] / "config.json").read_text())
    search = ["--param-budget", str(nonword_params(cfg, 32) + 900), "--clusters", "2", "--bands", "8,20",
              "--max-pos", "32", "--iters", "2"]
    out = tmp_path / "run"
    argv = ["compress", "--out", str(out), "--max-steps", "4", "--logit-teacher", str(f["teacher"]),
            "--hidden-mse", "0"] + search + common
    assert cli.main(argv) == 0
    cache = torch.load(out / "teacher_logits.pt", weights_only=True)
    assert tuple(cache["logits"].shape) == (160, 2)
    # the cache holds the teacher's logits of every training sentence, in file order
    data = corpus.load_data(f["train"], f["dev"], f["vocab"], 64)
    _, teacher = model_io.load_any(f["teacher"])
    from mcubert.training import collate

    with torch.no_grad():
        for i in (0, 7, 159):
            ref = teacher.eval()(**collate([data.train_x[i]])).logits[0]
            torch.testing.assert_close(cache["logits"][i], ref, rtol=1e-4, atol=1e-5)
    assert json.loads((out / "finetune.json").read_text())["step"] == 4


def test_a_budget_too_small_is_one_line_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    f = write_task(tmp_path)
    argv = ["search", "--out", str(tmp_path / "run"), "--param-budget", "1000", "--train", str(f["train"]),
            "--dev", str(f["dev"]), "--vocab", str(f["vocab"]), "--teacher", str(f["teacher"]), "--no-progress"]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("mcubert: error: budget too small") and "Traceback" not in "\n".join(err)


def test_evaluate_checkpoint_scores_a_compressed_model(tmp_path: Path) -> None:
    f = write_task(tmp_path)
    teacher = model_io.evaluate_checkpoint(f["teacher"], f["dev"], f["vocab"])
    _, model = model_io.load_any(f["teacher"])
    data = corpus.load_data(f["train"], f["dev"], f["vocab"], 64)
    assert teacher == model_io.evaluate(model, data.dev_x, data.dev_y)
    with pytest.raises(errors.CompressError, match="no such file"):
        model_io.evaluate_checkpoint(tmp_path / "missing.pt", f["dev"], f["vocab"])
