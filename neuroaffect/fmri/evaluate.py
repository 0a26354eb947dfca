"""Honest cross-validation over stimuli for fMRI decoders (semantics and VAD).

Folds are always grouped by stimulus id: the repeats of one stimulus are never split between training
and test, so a decoder cannot score by recognising a stimulus it was trained on.

Protocols
---------
- ``"within-subject"`` (subject-dependent): for each subject, k-fold over its stimuli.
- ``"cross-subject"``: leave one subject out. With ``stimulus_disjoint=True`` (default) the test
  subject's stimuli are additionally split into k folds and each fold's stimuli are removed from the
  training subjects too, so the test stimuli are new to the model as well as the subject.

One engine serves every decoder. :class:`StimulusResponses` is a sample container of
:mod:`neuroaffect.evaluation`, so:

- VAD decoding (:func:`evaluate_vad`) runs :func:`neuroaffect.evaluation.cross_validate_subjects`
  on the responses themselves, with the protocols ``"within-subject-kfold"`` and
  ``"leave-one-subject-out-stimulus-kfold"`` (the same two designs); it gets the EEG side's
  metrics, leakage audit, resumable storage and reports.
- The multi-output embedding encoders use scikit-learn's own tools with :class:`StimulusKFold`, a
  scikit-learn splitter whose ``groups`` are the responses' trial keys::

      from sklearn.model_selection import cross_val_predict
      cv = StimulusKFold(5, random_state=0)
      P = cross_val_predict(encoder, responses.X, Y, cv=cv, groups=responses.trial_key)

  (the encoders' ``predict`` gives their embeddings). :class:`StimulusKFold` is also a ``cv=`` of
  the runner, which then holds it to its promises on every split.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils.validation import _num_samples

from .._keys import _factorize
from .._validation import check_option
from ..evaluation._trial_ids import _accepts_trial_table, _n_codes, _stimulus_folds, _TrialIds
from .contrastive import ALPHAS
from .responses import VAD_NAMES, StimulusResponses

PROTOCOLS = ("within-subject", "cross-subject")


class StimulusKFold(BaseCrossValidator):
    """K folds of stimuli, within or across subjects: no stimulus is ever on both sides of a split.

    The distinct stimulus ids of all subjects, in order of first appearance, are cut into
    ``n_splits`` folds by ``KFold(n_splits, shuffle=True, random_state=random_state)`` (one fold
    assignment shared by every subject, made as
    :class:`~neuroaffect.evaluation.LeaveOneSubjectOutStimulusKFold` makes it: with
    ``protocol="cross-subject"`` and ``stimulus_disjoint=True`` the two give the same splits, in the
    same order, for the same seed, as the runner's ``"leave-one-subject-out-stimulus-kfold"``
    protocol does). For each subject (in order of first
    appearance) and each fold, the test set is that subject's rows of the fold's stimuli, and the
    training set is

    - ``protocol="within-subject"``: the same subject's rows of the other folds' stimuli;
    - ``protocol="cross-subject"``: the *other* subjects' rows of the other folds' stimuli
      (``stimulus_disjoint=True``: the model has seen neither the test subject nor the test
      stimuli), or of every stimulus (``stimulus_disjoint=False``: plain leave-one-subject-out,
      the training subjects keep the test stimuli).

    Every row is tested exactly once, so the splits partition the rows and scikit-learn's
    ``cross_val_predict`` accepts them; a (subject, fold) split whose training or test side would be
    empty (a subject with few or unshared stimuli) is skipped, and ``cross_val_predict`` then
    refuses the splits ("only works for partitions").

    ``groups`` are the rows' trial keys ``"subject/session/stimulus"``
    (:attr:`StimulusResponses.trial_key <neuroaffect.fmri.StimulusResponses.trial_key>`), or their
    trial table (:attr:`StimulusResponses.metadata <neuroaffect.fmri.StimulusResponses.metadata>`,
    which spares the parsing; both give the same folds): the subject and stimulus ids are read from
    them, so one array drives every protocol. Rows are otherwise ignored (``X`` and ``y`` only give
    the number of rows).

    Parameters
    ----------
    n_splits : int, default=5
        Folds of stimuli (at least 2, at most the number of distinct stimuli).
    protocol : {"within-subject", "cross-subject"}, default="within-subject"
    stimulus_disjoint : bool, default=True
        Cross-subject only: hold the test stimuli out of the training subjects too.
    random_state : int, RandomState instance or None, default=None
        Seed of the stimuli's shuffle; pass an int for the same folds on every call.

    Attributes
    ----------
    leakage_free : bool
        True: whole trials (a subject's stimulus) stay on one side of every split.
    held_out : tuple of str
        The units no split shares between training and test: ``("stimulus",)`` within subject,
        ``("subject", "stimulus")`` cross-subject (``("subject",)`` when not stimulus-disjoint).
        :func:`~neuroaffect.evaluation.cross_validate_subjects` checks both promises on every split.

    Examples
    --------
    >>> import numpy as np
    >>> from neuroaffect.fmri import StimulusResponses
    >>> r = StimulusResponses.from_arrays(np.zeros((6, 2)), ["a", "b", "c"] * 2, subject=["1"] * 3 + ["2"] * 3)
    >>> cv = StimulusKFold(3, random_state=0)
    >>> [(r.stimulus[tr].tolist(), r.stimulus[te].tolist()) for tr, te in cv.split(r.X, groups=r.trial_key)][:3]
    [(['a', 'b'], ['c']), (['a', 'c'], ['b']), (['b', 'c'], ['a'])]
    >>> cv = StimulusKFold(3, protocol="cross-subject", random_state=0)
    >>> [(r.subject[tr].tolist(), r.stimulus[te].tolist()) for tr, te in cv.split(r.X, groups=r.trial_key)][:1]
    [(['2', '2'], ['c'])]

    The trial table gives the same folds as the keys, and the runner's splitter the same folds:

    >>> from neuroaffect.evaluation import LeaveOneSubjectOutStimulusKFold
    >>> folds = [te.tolist() for _, te in cv.split(r.X, groups=r.metadata)]
    >>> folds
    [[2], [1], [0], [5], [4], [3]]
    >>> folds == [te.tolist() for _, te in LeaveOneSubjectOutStimulusKFold(3, random_state=0).split(r.X, groups=r.trial_key)]
    True
    """

    leakage_free = True
    __metadata_request__split = {"groups": True}

    def __init__(self, n_splits=5, *, protocol="within-subject", stimulus_disjoint=True, random_state=None):
        self.n_splits = n_splits
        self.protocol = protocol
        self.stimulus_disjoint = stimulus_disjoint
        self.random_state = random_state

    @property
    def held_out(self) -> tuple:
        if self.protocol != "cross-subject":
            return ("stimulus",)
        return ("subject", "stimulus") if self.stimulus_disjoint else ("subject",)

    def get_n_splits(self, X=None, y=None, groups=None):
        """The number of splits :meth:`split` yields for these ``groups`` (empty ones are skipped)."""
        return sum(1 for _ in self._iter(_TrialIds(groups)))

    @_accepts_trial_table
    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` row indices (sorted); ``groups`` are the rows' trial keys or
        their trial table (``responses.metadata``).

        Raises
        ------
        ValueError
            If ``groups`` is missing or not one key per row, ``n_splits`` is not an integer >= 2 or
            exceeds the number of distinct stimuli, ``protocol`` is unknown, or the cross-subject
            protocol is given one subject.
        """
        yield from self._iter(_TrialIds(groups, None if X is None else _num_samples(X)))

    def _iter(self, ids):
        check_option("protocol", self.protocol, PROTOCOLS)
        if not isinstance(self.n_splits, int | np.integer) or isinstance(self.n_splits, bool) or self.n_splits < 2:
            raise ValueError(f"Invalid value for the 'n_splits' parameter: expected an integer >= 2 (each fold's "
                             f"stimuli are tested on a model trained on the others), got n_splits={self.n_splits!r}.")
        subject = _factorize(ids.codes("subject"))  # subjects numbered 0.. in order of first appearance
        n_subjects = _n_codes(subject)
        if self.protocol == "cross-subject" and n_subjects < 2:
            raise ValueError("The cross-subject protocol needs at least 2 subjects.")
        fold = _stimulus_folds(ids.labels("trial"), self.n_splits, shuffle=True, random_state=self.random_state)
        for s in range(n_subjects):
            own = subject == s
            for f in range(self.n_splits):
                test = np.flatnonzero(own & (fold == f))
                if self.protocol == "within-subject":
                    train = np.flatnonzero(own & (fold != f))
                elif self.stimulus_disjoint:
                    train = np.flatnonzero(~own & (fold != f))
                else:
                    train = np.flatnonzero(~own)
                if len(test) and len(train):
                    yield train, test


def _flatten(X):
    X = np.asarray(X)
    return X.reshape(len(X), -1)


def make_vad_decoder(alphas=ALPHAS):
    """Ridge from parcel responses to one rating: flatten -> StandardScaler -> RidgeCV.

    Accepts ``X`` of shape (n_stimuli, n_parcels) (:attr:`StimulusResponses.X`, what the runner
    hands it) or (n_stimuli, n_parcels, 1) (tokens with one feature per parcel).
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

    The runner takes the responses as they are (a
    :class:`~neuroaffect.evaluation.SampleContainer`: repeats of a stimulus share a trial key, so
    the runner's leakage audit checks that no stimulus is on both sides of a split), and
    each VAD dimension is one regression run: RMSE (in the scale's units), Pearson r and CCC per
    subject, CCC primary. A training-mean baseline (``DummyRegressor``) is run on the same splits.

    Parameters
    ----------
    responses : StimulusResponses
        With ``vad`` on a declared scale.
    estimator : estimator, optional
        Takes ``X`` of shape (n_stimuli, n_features) (:attr:`StimulusResponses.X`; before the
        responses were a sample container it took (n_stimuli, n_features, 1) tokens, which the
        fMRI decoders still accept). Default :func:`make_vad_decoder`. One that
        requests ``metadata`` by metadata routing gets the training rows' id table (e.g.
        :class:`~neuroaffect.fmri.ContrastiveVADRegressor`, which reads the stimulus ids from its
        ``trial`` column).
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
    estimator = make_vad_decoder() if estimator is None else estimator
    kw = dict(task="regression", protocol=runner_name, n_splits=n_splits, random_state=random_state,
              results_dir=results_dir, n_jobs=n_jobs, progress=progress, metric=metric)
    runs = {t: cross_validate_subjects(responses, estimator, target=t, n_permutations=n_permutations, name=name, **kw)
            for t in targets}
    base = ({t: cross_validate_subjects(responses, DummyRegressor(), target=t, name="training mean", baseline=True, **kw)
             for t in targets} if baseline else {})

    def summary(results):
        return {t: {m: dict(r.summary["window"][m]) for m in ("rmse", "pearson_r", "ccc")} for t, r in results.items()}

    chance = {t: {"metric": metric, "chance": r.summary["chance"][metric], "source": r.summary["chance_source"],
                  "group_p_value": r.summary.get("group_p_value")} for t, r in runs.items()}
    return {"protocol": runner_name, "n_splits": n_splits, "scale": responses.vad_scale.name, "runs": runs,
            "baseline_runs": base, "mean": summary(runs), "baseline": summary(base), "chance": chance,
            "predictions": np.column_stack([runs[t].predictions["y_pred"] for t in targets])}
