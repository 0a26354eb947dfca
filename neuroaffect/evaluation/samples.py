"""The sample containers the runner evaluates: what :func:`cross_validate_subjects` reads from its data.

:func:`~neuroaffect.evaluation.cross_validate_subjects` takes any object that satisfies
:class:`SampleContainer`: one row per sample, each with its subject, its trial key and its
ratings. Two containers satisfy it natively:

- :class:`~neuroaffect.features.tokens.WindowTokens` (EEG): a sample is a window cut from a trial,
  ``X`` has shape (n_windows, n_electrodes, n_bands), and the trial key names the recorded trial;
- :class:`~neuroaffect.fmri.StimulusResponses` (fMRI): a sample is one response to a presented
  stimulus, ``X`` has shape (n_responses, n_features), and the trial key
  ``"subject/run/stimulus"`` names one stimulus of one subject (its repeats share a key).

The runner needs nothing else from the data. A few optional attributes are read when present
(:data:`OPTIONAL`): sample spans for the overlap audit, and the sensor metadata of EEG (electrode
names and positions, band names, sampling rate) that results record and that the importance
figures draw as topomaps. A container without them (fMRI responses) gets neutral values: its
samples never overlap, its features are named by ``feature_names``, it has no positions (the
figures then draw a bar chart, no topomap) and no sampling rate (``config["sfreq"]`` is None).

This layer sits below :mod:`neuroaffect.fmri`: it describes the interface, it never imports a
container.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["OPTIONAL", "REQUIRED", "SampleContainer"]


@runtime_checkable
class SampleContainer(Protocol):
    """The interface of the data :func:`~neuroaffect.evaluation.cross_validate_subjects` evaluates.

    A structural type (:class:`typing.Protocol`): any object with these members is accepted, no
    base class is needed; ``isinstance(obj, SampleContainer)`` checks that they are present.

    Attributes
    ----------
    X : array-like, shape (n_samples, ...)
        The samples, handed to the estimator as they are (rows indexed by the splits).
    subject : ndarray of str, shape (n_samples,)
        Subject of each sample.
    trial_key : ndarray of str, shape (n_samples,)
        ``"subject/session/trial"`` of each sample (ids escaped, see
        :func:`~neuroaffect.evaluation.parse_trial_keys`). Samples that share a key form one trial:
        they are never split between training and test, labels are permuted trial by trial, and
        trial-level scores average them. The key is the ``groups`` of every splitter; its last part
        is the stimulus for the protocols that hold out stimuli.
    rating_names : tuple of str
        The ratings that can be decoded (``target=``).
    ratings : ndarray, shape (n_samples, n_ratings)
        One column per name of ``rating_names`` (NaN where missing).
    dataset : str
        Where the samples come from (recorded in results, shown in tables).

    Methods
    -------
    rating(name) -> ndarray, shape (n_samples,)
        The column of ``ratings`` called ``name`` (ValueError naming the available ones otherwise).
    scale(name) -> RatingScale
        The scale that rating is on (binary and class labels are made from it).
    __len__() -> int
        The number of samples.
    __getitem__(index) -> container
        The samples at an integer index array, as a container of the same kind (the runner drops
        unlabelled trials this way).

    Notes
    -----
    Optional attributes (:data:`OPTIONAL`), read when present:

    - ``start``, ``stop`` (ndarray of int, shape (n_samples,)): each sample's span within its trial
      (``stop`` exclusive), for the audit of overlapping samples. Absent: samples never overlap.
    - ``ch_names`` and ``positions`` (electrode names, and positions in metres of shape
      (n_electrodes, 3)), ``band_names``, ``sfreq``: EEG sensor metadata, recorded in
      ``CVResult.config`` and used by the electrode-importance figures. Absent: the names are
      ``feature_names`` (else ``"f0", "f1", ...``), the positions are unknown (NaN), there are no
      bands and no sampling rate.
    - ``feature_names`` (sequence of str): names of ``X``'s second axis when there is no ``ch_names``.
    - ``features`` (dict): how ``X`` was computed, recorded in ``config["features"]``.
    - ``metadata`` (pandas.DataFrame, one row per sample): the id table with the integer codes
      ``subject_code``, ``session_code`` and ``trial_code`` besides the labels ``subject``,
      ``session`` and ``trial`` (:attr:`~neuroaffect.features.tokens.WindowTokens.metadata`), which the
      runner's per-subject, per-session and per-trial bookkeeping reads, and which estimators
      that request ``metadata`` receive (their rows of it) by metadata routing. Absent: it is
      built once from ``trial_key``.
    """

    X: Any
    subject: np.ndarray
    trial_key: np.ndarray
    rating_names: tuple
    ratings: np.ndarray
    dataset: str

    def rating(self, name: str) -> np.ndarray: ...

    def scale(self, name: str) -> Any: ...

    def __len__(self) -> int: ...

    def __getitem__(self, index) -> SampleContainer: ...


#: The members every container has (see :class:`SampleContainer`).
REQUIRED = ("X", "subject", "trial_key", "rating_names", "ratings", "dataset", "rating", "scale",
            "__len__", "__getitem__")
#: The members read when present (see the Notes of :class:`SampleContainer`).
OPTIONAL = ("start", "stop", "ch_names", "positions", "band_names", "sfreq", "feature_names", "features", "metadata")


def _check_container(obj) -> None:
    missing = [name for name in REQUIRED if not hasattr(obj, name)]
    if missing:
        raise TypeError(
            f"Invalid value for the 'tokens' parameter: expected a sample container (WindowTokens, "
            f"StimulusResponses, or any object with {', '.join(REQUIRED)}; see "
            f"neuroaffect.evaluation.SampleContainer), got {type(obj).__name__} without {', '.join(missing)}."
        )


class _RunnerSamples:
    """A container as the runner's internals read it: the required members passed through, the
    optional ones filled in (spans, names, positions, bands, sampling rate).

    ``sfreq`` is a float (NaN when the container has none: the resume files hash ``float(sfreq)``);
    :attr:`sampling_rate` is what results record (None when the container has none).
    """

    def __init__(self, container):
        if isinstance(container, _RunnerSamples):
            container = container.container
        _check_container(container)
        self.container = container
        self.X = container.X
        self.subject = np.asarray(container.subject)
        self.trial_key = np.asarray(container.trial_key)
        self.rating_names = tuple(container.rating_names)
        self.ratings = np.asarray(container.ratings)
        self.dataset = str(container.dataset)
        self.features = getattr(container, "features", None) or {}
        n = len(self.trial_key)
        spans = getattr(container, "start", None), getattr(container, "stop", None)
        if spans[0] is None or spans[1] is None:  # each sample its own span: none overlaps another
            spans = np.arange(n, dtype=np.int64), np.arange(1, n + 1, dtype=np.int64)
        self.start, self.stop = (np.asarray(s) for s in spans)
        names = getattr(container, "ch_names", None)
        if names is None:
            names = getattr(container, "feature_names", None)
        if names is None:
            shape = np.shape(self.X)
            names = [f"f{i}" for i in range(shape[1] if len(shape) > 1 else 0)]
        self.ch_names = list(names)
        positions = getattr(container, "positions", None)
        self.positions = (np.full((len(self.ch_names), 3), np.nan) if positions is None
                          else np.asarray(positions, dtype=float))
        self.band_names = tuple(getattr(container, "band_names", None) or ())
        rate = getattr(container, "sfreq", None)
        self.sampling_rate = None if rate is None else float(rate)
        self.sfreq = float("nan") if rate is None else float(rate)

    def rating(self, name: str) -> np.ndarray:
        return self.container.rating(name)

    def scale(self, name: str):
        return self.container.scale(name)

    def __len__(self) -> int:
        return len(self.trial_key)

    def __getitem__(self, index) -> _RunnerSamples:
        return _RunnerSamples(self.container[np.atleast_1d(np.arange(len(self))[index])])
