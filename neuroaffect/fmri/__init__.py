"""fMRI: loaders, parcels, brain -> embedding encoders, decoded semantics and VAD.

Submodules load lazily so that ``import neuroaffect.fmri`` stays cheap (nilearn, torch and
sentence-transformers are imported only by the functions that use them).

- :mod:`~neuroaffect.fmri.responses`: :class:`StimulusResponses`, the container all loaders return.
- :mod:`~neuroaffect.fmri.io`: BIDS runs (GLM, least squares all or separate, or lagged mean; parcels or
  voxels), NSD-style HDF5 betas, embeddings.
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
- :mod:`~neuroaffect.fmri.evaluate`: stimulus-grouped cross-validation, VAD decoding
  through the shared runner of :mod:`neuroaffect.evaluation`.
"""

import importlib

_EXPORTS = {
    "StimulusResponses": "responses", "SAM_1_9": "responses", "VAD_NAMES": "responses",
    "load_image": "io", "read_events": "io", "read_confounds": "io", "responses_from_run": "io",
    "find_bids_runs": "io", "read_bids_fmri": "io", "NSDBetas": "io", "read_nsd_betas": "io",
    "write_nsd_betas": "io", "load_embeddings": "io", "write_embeddings": "io",
    "align_embeddings": "io", "read_fmri_dir": "io", "confound_columns": "io", "CONFOUND_STRATEGIES": "io",
    "Parcellate": "parcels", "coordinate_atlas": "parcels", "ANALYZE_ORIENTATIONS": "io",
    "read_fmri_maps": "maps", "read_maps_table": "maps", "maps_to_tokens": "maps",
    "LassoPCR": "decoders", "NiftiDecoderRegressor": "decoders", "VoxelParcellation": "decoders",
    "make_decoder": "decoders",
    "ContrastiveEncoder": "contrastive", "RidgeEncoder": "contrastive",
    "ContrastiveVADRegressor": "contrastive_vad", "StimulusEmbeddings": "contrastive_vad",
    "RESPONSE_METHODS": "io",
    "retrieval_accuracy": "semantics", "two_way_identification": "semantics",
    "load_text_model": "semantics", "embed_texts": "semantics", "rank_texts": "semantics",
    "EMOTION_WORDS": "semantics",
    "iter_splits": "evaluate", "cross_val_predict": "evaluate", "make_vad_decoder": "evaluate",
    "evaluate_vad": "evaluate", "runner_protocol": "evaluate", "VAD_PROTOCOLS": "evaluate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
