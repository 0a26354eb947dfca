"""Honest cross-validation over stimuli for fMRI decoders (semantics and VAD).

Folds are always grouped by stimulus id: the repeats of one stimulus are never split between training
and test, so a decoder cannot score by recognising a stimulus it was trained on.

Protocols
---------
- ``"within-subject"`` (subject-dependent): for each subject, k-fold over its stimuli.
- ``"cross-subject"``: leave one subject out. With ``stimulus_disjoint=True`` (default) the test
  subject's stimuli are additionally split into k folds and each fold's stimuli are removed from the
  training subjects too, so the test stimuli are new to the model as well as the subject.

VAD decoding (:func:`evaluate_vad`) runs through the EEG side's runner,
:func:`neuroaffect.evaluation.cross_validate_subjects`, on :meth:`StimulusResponses.to_tokens`, with
the protocols ``"within-subject-kfold"`` and ``"leave-one-subject-out-stimulus-kfold"`` (the same
two designs), so it gets the same metrics, leakage audit, resumable storage and reports.
:func:`iter_splits` and :func:`cross_val_predict` serve the multi-output embedding encoders.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from .._validation import check_option
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
                      n_splits=5, stimulus_disjoint=True, random_state=0, progress=False) -> np.ndarray:
    """Out-of-fold predictions (``predict``, or ``transform`` for encoders) for every row.

    Parameters
    ----------
    estimator : estimator
        Cloned and fitted on each fold's training rows with ``fit(X, Y)``.
    Y : ndarray, shape (n_stimuli, n_targets)
        Targets per row (embeddings or VAD).
    progress : bool, default=False
        Show a progress bar over the (subject, fold) fits.

    Returns
    -------
    ndarray, shape (n_stimuli, n_outputs)
        Each row predicted by the model that did not see its stimulus (nor, cross-subject, its subject).

    Raises
    ------
    ValueError
        If ``Y`` does not have one row per response, or if the protocol and ``n_splits`` give no
        split with both training and test rows (e.g. ``n_splits=1``), so nothing can be predicted.
    """
    Y = np.asarray(Y, dtype=float)
    if len(Y) != responses.n_stimuli:
        raise ValueError(f"Y has {len(Y)} rows but the responses have {responses.n_stimuli} stimuli; "
                         "expected one target row per response.")
    from .._logging import progress_bar

    out = None
    splits = list(iter_splits(responses, protocol, n_splits, stimulus_disjoint, random_state))
    for _, train, test in progress_bar(splits, desc="folds", unit="fit", disable=not progress, leave=False):
        est = clone(estimator).fit(responses.X[train], Y[train])
        pred = np.asarray(_infer(est, responses.X[test]), dtype=float)
        pred = pred[:, None] if pred.ndim == 1 else pred
        if out is None:
            out = np.full((responses.n_stimuli, pred.shape[1]), np.nan)
        out[test] = pred
    if out is None:
        raise ValueError(
            f"No split with both training and test rows: protocol {protocol!r} with n_splits={n_splits} over "
            f"{len(np.unique(responses.stimulus))} stimuli and {len(responses.subjects)} subject(s); "
            "n_splits must be at least 2 (each fold's stimuli are tested on a model trained on the others).")
    return out


def _flatten(X):
    X = np.asarray(X)
    return X.reshape(len(X), -1)


def make_vad_decoder(alphas=ALPHAS):
    """Ridge from parcel responses to one rating: flatten -> StandardScaler -> RidgeCV.

    Accepts ``X`` of shape (n_stimuli, n_parcels) or the runner's tokens (n_stimuli, n_parcels, 1).
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    return make_pipeline(FunctionTransformer(_flatten), StandardScaler(),
                         RidgeCV(alphas=np.asarray(alphas, float)))


#: The fMRI protocol names and the :mod:`neuroaffect.evaluation` protocols they run.
VAD_PROTOCOLS = {
    "within-subject": "within-subject-kfold",
    "cross-subject": "leave-one-subject-out-stimulus-kfold",
}


def runner_protocol(protocol="within-subject", stimulus_disjoint=True) -> str:
    """The :data:`~neuroaffect.evaluation.PROTOCOLS` name behind an fMRI protocol.

    ``"within-subject"`` -> ``"within-subject-kfold"`` (k folds of a subject's stimuli);
    ``"cross-subject"`` -> ``"leave-one-subject-out-stimulus-kfold"``, or plain
    ``"leave-one-subject-out"`` with ``stimulus_disjoint=False``. Runner protocol names pass through.
    """
    from ..evaluation import PROTOCOLS

    check_option("protocol", protocol, (*VAD_PROTOCOLS, *PROTOCOLS))
    if protocol == "cross-subject" and not stimulus_disjoint:
        return "leave-one-subject-out"
    return VAD_PROTOCOLS.get(protocol, protocol)


def evaluate_vad(responses: StimulusResponses, estimator=None, *, protocol="within-subject",
                 n_splits=5, stimulus_disjoint=True, targets=VAD_NAMES, baseline=True, random_state=0,
                 results_dir=None, n_jobs=1, progress=False, n_permutations=0, metric="ccc",
                 name=None) -> dict:
    """Cross-validated VAD decoding through :func:`neuroaffect.evaluation.cross_validate_subjects`.

    The responses become :meth:`StimulusResponses.to_tokens` (repeats of a stimulus share a trial
    key, so the runner's leakage audit checks that no stimulus is on both sides of a split), and
    each VAD dimension is one regression run: RMSE (in the scale's units), Pearson r and CCC per
    subject, CCC primary. A training-mean baseline (``DummyRegressor``) is run on the same splits.

    Parameters
    ----------
    responses : StimulusResponses
        With ``vad`` on a declared scale.
    estimator : estimator, optional
        Takes ``X`` of shape (n_stimuli, n_parcels, 1). Default :func:`make_vad_decoder`. One whose
        ``fit`` takes ``groups`` gets the training rows' trial keys (e.g.
        :class:`~neuroaffect.fmri.ContrastiveVADRegressor`, which reads the stimulus ids from them).
    protocol : str, default="within-subject"
        ``"within-subject"``, ``"cross-subject"`` (see :func:`runner_protocol`) or any
        :data:`~neuroaffect.evaluation.PROTOCOLS` name.
    n_splits : int, default=5
        Folds of stimuli.
    stimulus_disjoint : bool, default=True
        Cross-subject only: hold the test stimuli out of the training subjects too.
    targets : sequence of str, default=("valence", "arousal", "dominance")
    baseline : bool, default=True
        Also run the training-mean baseline.
    random_state : int, default=0
    results_dir : path-like, optional
        Passed to the runner (stores finished folds; re-runs resume).
    n_jobs : int, default=1
    progress : bool, default=False
    n_permutations : int, default=0
        Label permutations of the model runs (whole stimuli's ratings permuted within each subject,
        full CV re-fitted): each subject's p-value, the group p-value and the empirical chance of
        ``metric`` (the permutation null mean, which is not 0 for CCC or r under cross-validation).
        The baseline runs are not permuted.
    metric : {"ccc", "pearson_r", "rmse"}, default="ccc"
        The primary metric (permutation test, chance).
    name : str, optional
        The model runs' label in reports (default: a description of the estimator).

    Returns
    -------
    dict
        ``"protocol"`` (the runner's name), ``"scale"``, ``"runs"`` and ``"baseline_runs"``
        ({dimension: CVResult}), ``"mean"`` and ``"baseline"`` ({dimension: {metric: {"mean",
        "std"}}}, across subjects), ``"chance"`` ({dimension: {"metric", "chance", "source",
        "group_p_value"}}: the permutation null mean with ``n_permutations > 0``, else the theoretical
        0), ``"predictions"`` (ndarray (n_stimuli, n_targets), out of fold,
        rows in the order of ``responses``).
    """
    from sklearn.dummy import DummyRegressor

    from ..evaluation import cross_validate_subjects

    if responses.vad is None:
        raise ValueError("The responses carry no VAD ratings (StimulusResponses.vad is None).")
    runner_name = runner_protocol(protocol, stimulus_disjoint)
    for t in targets:
        check_option("targets", t, VAD_NAMES)
    tokens = responses.to_tokens()
    estimator = make_vad_decoder() if estimator is None else estimator
    kw = dict(task="regression", protocol=runner_name, n_splits=n_splits, random_state=random_state,
              results_dir=results_dir, n_jobs=n_jobs, progress=progress, metric=metric)
    runs = {t: cross_validate_subjects(tokens, estimator, target=t, n_permutations=n_permutations, name=name, **kw)
            for t in targets}
    base = ({t: cross_validate_subjects(tokens, DummyRegressor(), target=t, name="training mean", baseline=True, **kw)
             for t in targets} if baseline else {})

    def summary(results):
        return {t: {m: dict(r.summary["window"][m]) for m in ("rmse", "pearson_r", "ccc")} for t, r in results.items()}

    chance = {t: {"metric": metric, "chance": r.summary["chance"][metric], "source": r.summary["chance_source"],
                  "group_p_value": r.summary.get("group_p_value")} for t, r in runs.items()}
    return {"protocol": runner_name, "n_splits": n_splits, "scale": responses.vad_scale.name, "runs": runs,
            "baseline_runs": base, "mean": summary(runs), "baseline": summary(base), "chance": chance,
            "predictions": np.column_stack([runs[t].predictions["y_pred"] for t in targets])}
