"""Valence, arousal and dominance read from a brain -> embedding encoder's embedding space.

:class:`ContrastiveVADRegressor` trains a brain -> stimulus-embedding encoder (by default the
contrastive :class:`~neuroaffect.fmri.ContrastiveEncoder`) on the training rows of a fold, then reads
VAD from the learned embedding with one of two heads, both fitted on the same training rows:

- ``head="ridge"``: a ridge readout from the encoder's embedding of each training response
  (standardised; alpha by efficient leave-one-out) to its ratings.
- ``head="nearest"``: the mean rating of the ``n_neighbors`` training stimuli whose embeddings are
  nearest (cosine) to the predicted embedding: the rated stimuli the brain response is decoded as.

The encoder needs each training row's stimulus embedding, looked up by stimulus id in a
:class:`StimulusEmbeddings`; the ids come from the id table (``metadata``, its ``trial`` column) that
:func:`neuroaffect.evaluation.cross_validate_subjects` routes to ``fit``, so the estimator runs in the
fMRI-VAD runner (:func:`~neuroaffect.fmri.evaluate_vad`, ``neuroaffect run fmri-vad --estimators``)
like ridge on parcels. Test rows need no embedding: ``predict`` takes brain responses only.
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections import OrderedDict
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._keys import DEPRECATED, check_metadata, groups_given, keys_table
from .._validation import check_finite
from .contrastive import ALPHAS

HEADS = ("ridge", "nearest")


class StimulusEmbeddings:
    """Stimulus ids and their embeddings, looked up by id.

    A small container rather than a bare ``(ids, array)`` tuple so that estimator parameters stay
    short in reports (its repr gives the size and a content digest) while runs are still told
    apart by content.

    Parameters
    ----------
    ids : array-like of str, shape (n_stimuli,)
        Distinct stimulus ids (as in ``StimulusResponses.stimulus``).
    embeddings : array-like, shape (n_stimuli, embed_dim)

    Examples
    --------
    >>> import numpy as np
    >>> emb = StimulusEmbeddings(["a", "b"], np.eye(2))
    >>> emb.lookup(["b", "a", "b"]).tolist()
    [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    """

    def __init__(self, ids, embeddings):
        ids = np.asarray([str(i) for i in np.asarray(ids).ravel()], dtype=object)
        embeddings = check_finite(np.asarray(embeddings, dtype=float), "embeddings")
        if embeddings.ndim != 2 or len(embeddings) != len(ids):
            raise ValueError(f"embeddings must have shape (n_ids, embed_dim) with one row per id ({len(ids)} ids), "
                             f"got {embeddings.shape}.")
        if len(set(ids)) != len(ids):
            raise ValueError("StimulusEmbeddings: the ids are not distinct; expected one embedding per stimulus.")
        self.ids = ids
        self.embeddings = embeddings
        self._row = {s: i for i, s in enumerate(ids)}

    @classmethod
    def from_file(cls, path, key: str = "embeddings", ids_key: str = "stimulus") -> StimulusEmbeddings:
        """Read an HDF5 embeddings file (:func:`~neuroaffect.fmri.load_embeddings`)."""
        from .nsd import load_embeddings

        return cls(*load_embeddings(path, key, ids_key))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def embed_dim(self) -> int:
        return self.embeddings.shape[1]

    def lookup(self, stimulus) -> np.ndarray:
        """Embeddings of ``stimulus`` ids, shape (n, embed_dim); an id without one is an error."""
        stimulus = [str(s) for s in np.asarray(stimulus, dtype=object).ravel()]
        missing = sorted({s for s in stimulus if s not in self._row})
        if missing:
            raise ValueError(f"{len(missing)} stimulus id(s) have no embedding, e.g. {missing[:3]}; expected every "
                             f"id among the {len(self)} ids of the StimulusEmbeddings.")
        return self.embeddings[[self._row[s] for s in stimulus]]

    def digest(self) -> str:
        h = hashlib.sha1()
        h.update("\x00".join(self.ids).encode())
        h.update(np.ascontiguousarray(self.embeddings).tobytes())
        return h.hexdigest()

    def __repr__(self) -> str:
        return f"StimulusEmbeddings({len(self)} stimuli x {self.embed_dim}, sha1 {self.digest()[:12]})"


def _as_embeddings(value) -> StimulusEmbeddings:
    if isinstance(value, StimulusEmbeddings):
        return value
    if isinstance(value, dict):
        return StimulusEmbeddings(list(value), np.stack([np.asarray(v, dtype=float) for v in value.values()]))
    if isinstance(value, tuple | list) and len(value) == 2:
        return StimulusEmbeddings(*value)
    raise ValueError("Invalid value for the 'embeddings' parameter: expected a StimulusEmbeddings, an (ids, "
                     f"embeddings) pair or a dict id -> vector, got {type(value).__name__}.")


# Fitted encoders by (encoder settings, training X, training embeddings): the fMRI-VAD runner fits
# one model per VAD dimension (and per label permutation) on the same splits, and the encoder never
# sees the ratings, so it is trained once per split. Least recently used first out, within a count
# (a 5-fold x 10-subject run has 50 splits) and a memory budget.
_ENCODERS: OrderedDict = OrderedDict()  # key -> (fitted encoder, bytes)
_ENCODERS_LOCK = threading.Lock()
_ENCODERS_MAX = 64
_ENCODERS_MAX_BYTES = 512 * 2**20


def _nbytes(obj, depth: int = 0) -> int:
    """Approximate memory of a fitted estimator: its arrays and torch tensors, walked recursively."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if callable(getattr(obj, "state_dict", None)) and callable(getattr(obj, "parameters", None)):  # torch module
        return sum(t.numel() * t.element_size() for t in obj.state_dict().values())
    if depth > 8:
        return 0
    if isinstance(obj, dict):
        return sum(_nbytes(v, depth + 1) for v in obj.values())
    if isinstance(obj, list | tuple):
        return sum(_nbytes(v, depth + 1) for v in obj)
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return sum(_nbytes(v, depth + 1) for v in vars(obj).values())
    return 0


def _fit_encoder(encoder, X, E, reuse: bool):
    import joblib

    key = None
    if reuse and all(v is not None for k, v in encoder.get_params(deep=True).items() if k.endswith("random_state")):
        key = joblib.hash((encoder, X, E), hash_name="sha1")
        with _ENCODERS_LOCK:
            if key in _ENCODERS:
                _ENCODERS.move_to_end(key)
                return _ENCODERS[key][0]
    fitted = encoder.fit(X, E)
    if key is not None:
        size = _nbytes(fitted)
        if size <= _ENCODERS_MAX_BYTES:
            with _ENCODERS_LOCK:
                _ENCODERS[key] = (fitted, size)
                while (len(_ENCODERS) > _ENCODERS_MAX
                       or sum(n for _, n in _ENCODERS.values()) > _ENCODERS_MAX_BYTES):
                    _ENCODERS.popitem(last=False)
    return fitted


class ContrastiveVADRegressor(RegressorMixin, TransformerMixin, BaseEstimator):
    """Brain responses -> learned stimulus embedding -> valence/arousal/dominance.

    See the module docstring. Everything is fitted on the training rows given to :meth:`fit`: the
    encoder (on those rows' stimulus embeddings), then the head (on their ratings).

    Parameters
    ----------
    embeddings : StimulusEmbeddings, (ids, ndarray) pair or dict
        The stimulus embeddings the encoder is trained to predict, by stimulus id (e.g.
        ``StimulusEmbeddings.from_file("stimuli/embeddings.h5")``). Only training rows' ids are
        looked up.
    encoder : estimator, optional
        A brain -> embedding encoder with ``fit(X, Y)`` and ``transform(X)`` (L2-normalised
        embeddings, shape (n_samples, embed_dim)): :class:`~neuroaffect.fmri.ContrastiveEncoder`
        (default, with its default settings), :class:`~neuroaffect.fmri.RidgeEncoder`, or a
        pipeline ending in one (e.g. ``make_pipeline(VoxelParcellation(mask), ContrastiveEncoder())``
        to fit a data-driven parcellation in each fold). Cloned in :meth:`fit`.
    head : {"ridge", "nearest"}, default="ridge"
        How VAD is read from the embedding space (module docstring).
    n_neighbors : int, default=10
        ``head="nearest"``: training stimuli averaged (at most the number of distinct training
        stimuli).
    alphas : array-like, default=ALPHAS
        ``head="ridge"``: candidate ridge penalties.
    reuse_encoder : bool, default=True
        Reuse an encoder already fitted in this process on the same training rows, embeddings and
        settings (the other VAD dimensions of a split, or its label permutations: the encoder never
        sees the ratings). Only for seeded encoders (a ``random_state`` set); up to 64 encoders or
        512 MiB are kept, least recently used dropped first.
    random_state : int, optional
        Seeds the default encoder, and an encoder whose ``random_state`` is None.

    Attributes
    ----------
    encoder_ : estimator
        The fitted encoder.
    head_ : Pipeline or None
        ``head="ridge"``: StandardScaler -> RidgeCV from the embedding to the ratings.
    train_embeddings_ : ndarray, shape (n_train_stimuli, embed_dim)
        ``head="nearest"``: the distinct training stimuli's unit-norm embeddings ...
    train_ratings_ : ndarray, shape (n_train_stimuli,) or (n_train_stimuli, n_targets)
        ... and their mean training rating.
    n_features_in_ : int

    See Also
    --------
    neuroaffect.fmri.make_vad_decoder : ridge on parcels, the direct route.

    Examples
    --------
    >>> from neuroaffect.fmri import ContrastiveEncoder
    >>> from neuroaffect.simulate.fmri import simulate_responses
    >>> r, truth = simulate_responses(n_subjects=1, n_stimuli=60, n_parcels=30, embed_dim=8, random_state=0)
    >>> emb = StimulusEmbeddings(truth.stimulus, truth.embeddings)
    >>> model = ContrastiveVADRegressor(emb, ContrastiveEncoder(max_epochs=20), random_state=0)
    >>> model.fit(r.X, r.vad, stimulus=r.stimulus).predict(r.X[:2]).shape
    (2, 3)
    """

    # the id table (its trials are the stimuli) reaches fit by metadata routing, as the runner routes it;
    # "groups" (0.1's trial keys) stays requested until 0.3, so a caller routing only keys gets the warning
    __metadata_request__fit = {"metadata": True, "groups": True}

    _parameter_constraints: dict = {
        "embeddings": [StimulusEmbeddings, tuple, list, dict, None],  # None: refused in fit with a hint
        "encoder": [HasMethods(["fit", "transform"]), None],
        "head": [StrOptions(set(HEADS))],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "alphas": ["array-like"],
        "reuse_encoder": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, embeddings=None, encoder=None, head="ridge", n_neighbors=10, alphas=ALPHAS,
                 reuse_encoder=True, random_state=None):
        self.embeddings = embeddings
        self.encoder = encoder
        self.head = head
        self.n_neighbors = n_neighbors
        self.alphas = alphas
        self.reuse_encoder = reuse_encoder
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # ratings (n_samples, n_targets): one readout per target
        return tags

    def _make_encoder(self):
        from .contrastive import ContrastiveEncoder

        encoder = ContrastiveEncoder() if self.encoder is None else clone(self.encoder)
        unset = {k: self.random_state for k, v in encoder.get_params(deep=True).items()
                 if k.split("__")[-1] == "random_state" and v is None}
        return encoder.set_params(**unset) if unset and self.random_state is not None else encoder

    @_fit_context(prefer_skip_nested_validation=False)  # the encoder validates its own parameters
    def fit(self, X, y, groups=DEPRECATED, stimulus=None, *, metadata=None):
        """Fit the encoder and the head on training rows.

        Parameters
        ----------
        X : ndarray, shape (n_samples, n_features) or (n_samples, n_features, 1)
            Brain responses (the runner's tokens are flattened).
        y : ndarray, shape (n_samples,) or (n_samples, n_targets)
            Ratings.
        groups : array-like of str, shape (n_samples,), deprecated
            Trial keys ``"subject/session/stimulus"`` (0.1's way); deprecated since 0.2, removed in
            0.3: use ``metadata``.
        stimulus : array-like of str, shape (n_samples,), optional
            The stimulus ids directly (instead of ``metadata``).
        metadata : pandas.DataFrame, shape (n_samples, n_columns), optional
            The rows' id table (``StimulusResponses.metadata``; the runner routes it): the stimulus
            of each row is its ``trial`` column.
        """
        from sklearn.linear_model import RidgeCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from .decoders import _rows

        X, y = validate_data(self, X, y, reset=True, allow_nd=True, dtype=np.float64, y_numeric=True,
                             multi_output=True)
        X = _rows(X)
        y = np.asarray(y, dtype=float)
        if self.embeddings is None:
            raise ValueError("ContrastiveVADRegressor needs embeddings (the stimulus embeddings the encoder is "
                             "trained to predict), e.g. StimulusEmbeddings.from_file('stimuli/embeddings.h5').")
        if stimulus is None and metadata is None and not groups_given(groups):
            raise ValueError("ContrastiveVADRegressor.fit needs each row's stimulus id: pass metadata (the responses' "
                             "id table, StimulusResponses.metadata, which cross_validate_subjects passes) or stimulus=.")
        if stimulus is None and metadata is not None:  # metadata wins over the deprecated groups
            table = check_metadata(metadata, len(X))
            if "trial" not in table.columns:
                raise ValueError("ContrastiveVADRegressor.fit: metadata has no 'trial' column (the stimulus of each "
                                 "row); pass StimulusResponses.metadata, or stimulus=.")
            stimulus = table["trial"].to_numpy(dtype=object)
        elif stimulus is None:
            warnings.warn("ContrastiveVADRegressor.fit(groups=...) is deprecated since 0.2 and will be removed in 0.3: "
                          "pass metadata=responses.metadata (or stimulus=).", FutureWarning, stacklevel=3)
            stimulus = keys_table(groups, len(X))["trial"].to_numpy(dtype=object)
        stimulus = np.asarray([str(s) for s in np.asarray(stimulus, dtype=object).ravel()], dtype=object)
        if len(stimulus) != len(X):
            raise ValueError(f"ContrastiveVADRegressor.fit: X has {len(X)} rows but {len(stimulus)} stimulus ids.")
        emb = _as_embeddings(self.embeddings)
        E = emb.lookup(stimulus)
        self.encoder_ = _fit_encoder(self._make_encoder(), X, E, bool(self.reuse_encoder))
        self.head_ = self.train_embeddings_ = self.train_ratings_ = None
        if self.head == "ridge":
            Z = self.encoder_.transform(X)
            self.head_ = make_pipeline(StandardScaler(), RidgeCV(alphas=np.asarray(self.alphas, float))).fit(Z, y)
        else:
            uniq, inverse = np.unique(stimulus, return_inverse=True)
            counts = np.bincount(inverse).astype(float)
            ratings = np.zeros((len(uniq),) + y.shape[1:])
            np.add.at(ratings, inverse, y)
            self.train_ratings_ = ratings / counts.reshape((-1,) + (1,) * (y.ndim - 1))
            E_u = emb.lookup(uniq)
            self.train_embeddings_ = E_u / np.maximum(np.linalg.norm(E_u, axis=1, keepdims=True), 1e-12)
        return self

    def transform(self, X):
        """The learned embedding of each response (the encoder's output), shape (n_samples, embed_dim)."""
        from .decoders import _rows

        check_is_fitted(self, "encoder_")
        shape = getattr(X, "shape", None)
        if shape is not None and len(shape) >= 2 and shape[1] != self.n_features_in_:
            raise ValueError(f"X has {shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input (the model was fitted on {self.n_features_in_}).")
        X = _rows(validate_data(self, X, reset=False, allow_nd=True, dtype=np.float64))
        return np.asarray(self.encoder_.transform(X), dtype=float)

    def predict(self, X):
        """Ratings, shape (n_samples,) (or (n_samples, n_targets) when fitted on several)."""
        Z = self.transform(X)
        if self.head == "ridge":
            return self.head_.predict(Z)
        if Z.shape[1] != self.train_embeddings_.shape[1]:
            raise ValueError(f"The encoder predicts {Z.shape[1]}-dimensional embeddings but the stimulus embeddings "
                             f"have {self.train_embeddings_.shape[1]}; head='nearest' compares them directly.")
        k = min(int(self.n_neighbors), len(self.train_embeddings_))
        sim = Z @ self.train_embeddings_.T
        nearest = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        return self.train_ratings_[nearest].mean(axis=1)
