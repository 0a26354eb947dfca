"""Honest cross-validation over stimuli for fMRI decoders (semantics and VAD).

Folds are always grouped by stimulus id: the repeats of one stimulus are never split between training
and test, so a decoder cannot score by recognising a stimulus it was trained on.

Protocols
---------
- ``"within-subject"`` (subject-dependent): for each subject, k-fold over its stimuli.
- ``"cross-subject"``: leave one subject out. With ``stimulus_disjoint=True`` (default) the test
  subject's stimuli are additionally split into k folds and each fold's stimuli are removed from the
  training subjects too, so the test stimuli are new to the model as well as the subject.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from .._validation import check_option
from ..evaluation.metrics import regression_scores
from .contrastive import ALPHAS
from .responses import VAD_NAMES, StimulusResponses

PROTOCOLS = ("within-subject", "cross-subject")


def _stimulus_folds(stimuli, n_splits, random_state):
    uniq = np.unique(stimuli)
    if len(uniq) < n_splits:
        raise ValueError(f"{len(uniq)} distinct stimuli cannot be split into n_splits={n_splits} folds.")
    rng = np.random.RandomState(random_state)
    fold_of = dict(zip(rng.permutation(uniq), np.arange(len(uniq)) % n_splits, strict=True))
    return np.array([fold_of[s] for s in stimuli])


def iter_splits(responses: StimulusResponses, protocol="within-subject", n_splits=5,
                stimulus_disjoint=True, random_state=0):
    """Yield ``(subject, train_idx, test_idx)``; folds never share a stimulus (see module docstring)."""
    check_option("protocol", protocol, PROTOCOLS)
    subjects = responses.subjects
    if protocol == "cross-subject" and len(subjects) < 2:
        raise ValueError("The cross-subject protocol needs at least 2 subjects.")
    fold = _stimulus_folds(responses.stimulus, n_splits, random_state)
    for subject in subjects:
        own = responses.subject == subject
        for f in range(n_splits):
            test = np.flatnonzero(own & (fold == f))
            if protocol == "within-subject":
                train = np.flatnonzero(own & (fold != f))
            else:
                train = np.flatnonzero(~own & ((fold != f) if stimulus_disjoint else True))
            if len(test) and len(train):
                yield subject, train, test


def _infer(est, X):
    return est.predict(X) if hasattr(est, "predict") else est.transform(X)


def cross_val_predict(estimator, responses: StimulusResponses, Y, *, protocol="within-subject",
                      n_splits=5, stimulus_disjoint=True, random_state=0) -> np.ndarray:
    """Out-of-fold predictions (``predict``, or ``transform`` for encoders) for every row.

    Parameters
    ----------
    estimator : estimator
        Cloned and fitted on each fold's training rows with ``fit(X, Y)``.
    Y : ndarray, shape (n_stimuli, n_targets)
        Targets per row (embeddings or VAD).

    Returns
    -------
    ndarray, shape (n_stimuli, n_outputs)
        Each row predicted by the model that did not see its stimulus (nor, cross-subject, its subject).
    """
    Y = np.asarray(Y, dtype=float)
    if len(Y) != responses.n_stimuli:
        raise ValueError(f"Y has {len(Y)} rows but the responses have {responses.n_stimuli} stimuli; "
                         "expected one target row per response.")
    out = None
    for _, train, test in iter_splits(responses, protocol, n_splits, stimulus_disjoint, random_state):
        est = clone(estimator).fit(responses.X[train], Y[train])
        pred = np.asarray(_infer(est, responses.X[test]), dtype=float)
        pred = pred[:, None] if pred.ndim == 1 else pred
        if out is None:
            out = np.full((responses.n_stimuli, pred.shape[1]), np.nan)
        out[test] = pred
    return out


def make_vad_decoder(alphas=ALPHAS):
    """Ridge from parcel responses to (valence, arousal, dominance): StandardScaler -> RidgeCV."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.asarray(alphas, float)))


def evaluate_vad(responses: StimulusResponses, estimator=None, *, protocol="within-subject",
                 n_splits=5, stimulus_disjoint=True, random_state=0) -> dict:
    """Cross-validated VAD decoding: RMSE, Pearson r and CCC per dimension, per subject.

    Scores are on the responses' own VAD scale. A "training mean" baseline (predicting each fold's
    training mean) is scored alongside.

    Returns
    -------
    dict
        ``{"protocol", "n_splits", "scale", "per_subject": {subject: {dim: scores}}, "mean":
        {dim: {metric: {"mean", "std"}}}, "baseline": {same for the training-mean predictor},
        "predictions": ndarray (n_stimuli, 3)}``.
    """
    if responses.vad is None:
        raise ValueError("The responses carry no VAD ratings (StimulusResponses.vad is None).")
    estimator = make_vad_decoder() if estimator is None else estimator
    from sklearn.dummy import DummyRegressor

    kw = dict(protocol=protocol, n_splits=n_splits, stimulus_disjoint=stimulus_disjoint,
              random_state=random_state)
    pred = cross_val_predict(estimator, responses, responses.vad, **kw)
    base = cross_val_predict(DummyRegressor(), responses, responses.vad, **kw)

    def summarise(P):
        per_subject = {}
        for s in responses.subjects:
            rows = (responses.subject == s) & ~np.isnan(P[:, 0])
            per_subject[s] = {name: regression_scores(responses.vad[rows, k], P[rows, k])
                              for k, name in enumerate(VAD_NAMES)}
        mean = {name: {m: {"mean": float(np.nanmean([per_subject[s][name][m] for s in per_subject])),
                           "std": float(np.nanstd([per_subject[s][name][m] for s in per_subject]))}
                       for m in ("rmse", "pearson_r", "ccc")} for name in VAD_NAMES}
        return per_subject, mean

    per_subject, mean = summarise(pred)
    _, baseline = summarise(base)
    return {"protocol": protocol, "n_splits": n_splits, "stimulus_disjoint": stimulus_disjoint,
            "scale": responses.vad_scale.name, "per_subject": per_subject, "mean": mean,
            "baseline": baseline, "predictions": pred}
