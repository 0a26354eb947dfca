"""fMRI: loaders, parcels, brain -> embedding encoders, decoded semantics and VAD.

Submodules load lazily so that ``import neuroaffect.fmri`` stays cheap (nilearn, torch and
sentence-transformers are imported only by the functions that use them).

- :mod:`~neuroaffect.fmri.responses`: :class:`StimulusResponses`, the container all loaders return
  (a sample container of :mod:`neuroaffect.evaluation`: the runner takes it as it is).
- :mod:`~neuroaffect.fmri.io`: :func:`read_fmri_dir` (a whole folder, NSD-style or BIDS), and the
  readers it re-exports: :mod:`~neuroaffect.fmri.images` (checked image loading),
  :mod:`~neuroaffect.fmri.events` (events and confounds tables), :mod:`~neuroaffect.fmri.glm`
  (one run -> per-trial responses: GLM, least squares all or separate, or lagged mean),
  :mod:`~neuroaffect.fmri.bids` (BIDS runs, parcels or voxels), :mod:`~neuroaffect.fmri.nsd`
  (NSD-style HDF5 betas, embeddings).
- :mod:`~neuroaffect.fmri.parcels`: :class:`Parcellate` (shipped coordinate atlases, atlas images,
  data-driven parcellations; 4-D runs or lists of 3-D maps).
- :mod:`~neuroaffect.fmri.maps`: your own maps (a folder of subject- or trial-level images plus a
  table of targets): :func:`read_fmri_maps`, :func:`maps_to_tokens`.
- :mod:`~neuroaffect.fmri.decoders`: whole-brain decoders for maps (:class:`LassoPCR`, nilearn's
  Decoder/FREM through :class:`NiftiDecoderRegressor`, :class:`VoxelParcellation`).
- :mod:`~neuroaffect.fmri.contrastive`: :class:`ContrastiveEncoder`, :class:`RidgeEncoder`.
- :mod:`~neuroaffect.fmri.contrastive_vad`: :class:`ContrastiveVADRegressor` (VAD read from an
  encoder's learned embedding: a ridge head, or the nearest rated stimuli), :class:`StimulusEmbeddings`.
- :mod:`~neuroaffect.fmri.semantics`: retrieval, two-way identification, text decoding.
- :mod:`~neuroaffect.fmri.evaluate`: :class:`StimulusKFold` (stimulus-grouped folds, a
  scikit-learn splitter: ``cross_val_predict(encoder, r.X, Y, cv=StimulusKFold(5),
  groups=r.trial_key)``), VAD decoding through the shared runner of :mod:`neuroaffect.evaluation`.
"""

import importlib

_EXPORTS = {
    "StimulusResponses": "responses", "SAM_1_9": "responses", "VAD_NAMES": "responses",
    "load_image": "images", "ANALYZE_ORIENTATIONS": "images",
    "read_events": "events", "read_confounds": "events", "confound_columns": "events",
    "CONFOUND_STRATEGIES": "events", "responses_from_run": "glm", "RESPONSE_METHODS": "glm",
    "find_bids_runs": "bids", "read_bids_fmri": "bids", "NSDBetas": "nsd", "read_nsd_betas": "nsd",
    "write_nsd_betas": "nsd", "load_embeddings": "nsd", "write_embeddings": "nsd",
    "align_embeddings": "nsd", "read_fmri_dir": "io",
    "Parcellate": "parcels", "coordinate_atlas": "atlases",
    "read_fmri_maps": "maps", "read_maps_table": "maps", "maps_to_tokens": "maps",
    "LassoPCR": "decoders", "NiftiDecoderRegressor": "decoders", "VoxelParcellation": "decoders",
    "make_decoder": "decoders",
    "ContrastiveEncoder": "contrastive", "RidgeEncoder": "contrastive",
    "ContrastiveVADRegressor": "contrastive_vad", "StimulusEmbeddings": "contrastive_vad",
    "retrieval_accuracy": "semantics", "two_way_identification": "semantics",
    "load_text_model": "semantics", "embed_texts": "semantics", "rank_texts": "semantics",
    "EMOTION_WORDS": "semantics",
    "StimulusKFold": "evaluate", "make_vad_decoder": "evaluate",
    "evaluate_vad": "evaluate", "runner_protocol": "evaluate", "VAD_PROTOCOLS": "evaluate",
}

__all__ = sorted(_EXPORTS)


#: Removed names and what replaces them (named by the AttributeError that accessing one raises).
_REMOVED = dict.fromkeys(
    ("iter_splits", "cross_val_predict"),
    "use neuroaffect.fmri.StimulusKFold, a scikit-learn splitter: "
    "sklearn.model_selection.cross_val_predict(est, responses.X, Y, cv=StimulusKFold(...), "
    "groups=responses.trial_key)",
)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    if name in _REMOVED:
        raise AttributeError(f"neuroaffect.fmri.{name} was removed; {_REMOVED[name]}.")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
