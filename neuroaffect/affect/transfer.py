"""Deprecated alias: montage transfer moved to :mod:`neuroaffect.estimators.transfer`.

``from neuroaffect.affect.transfer import MontageTransfer`` (and ``pooled_embeddings``) still
works, with a ``FutureWarning``, and so do pickles that name this module; import them from
:mod:`neuroaffect.estimators` instead. This module will be removed.
"""

import warnings

_MOVED = ("MontageTransfer", "pooled_embeddings")

__all__: list = []  # nothing new is exported from here


def __getattr__(name):
    if name in _MOVED:
        warnings.warn(
            f"neuroaffect.affect.transfer.{name} moved to neuroaffect.estimators; the old path will be removed "
            f"(import it as: from neuroaffect.estimators import {name}).",
            FutureWarning, stacklevel=2,
        )
        from ..estimators import transfer

        return getattr(transfer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(_MOVED)
