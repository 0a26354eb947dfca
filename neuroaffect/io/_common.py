"""Shared pieces of the dataset readers: dataset specs, subject sources, subject selection, safe
file reading."""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import FileFormatError, check_file
from ..trials import EEGTrials


@dataclass(frozen=True)
class DatasetSpec:
    """What neuroaffect knows about one public dataset, declared once by its reader module.

    The registry :data:`neuroaffect.io.DATASETS` holds one per reader; :func:`~neuroaffect.io.list_subjects`,
    the recipes and the ``neuroaffect`` command read it (through :func:`~neuroaffect.io.get_dataset`,
    which accepts ``name`` and every alias alike).

    Parameters
    ----------
    name : str
        The registry key, also ``EEGTrials.dataset`` and ``SubjectSource.dataset`` (so part of
        cache keys): ``"seed_iv"``.
    title : str
        The name for people (reports, messages): ``"SEED-IV"``.
    find_subjects : callable
        ``find_subjects(path) -> {subject id: (file, ...)}``: how the subjects of a dataset folder
        are found, in subject order.
    read_subject : callable
        ``read_subject(source, **options) -> EEGTrials``: reads one :class:`SubjectSource`.
    rating_names : tuple of str
        The ratings the reader gives its trials (the valid targets). Ratings that only some copies
        of the dataset carry come last (EEGMAT's subject fields need ``subject-info.csv``).
    target, task, protocol : str
        The conventional target (a rating), task (``"binary"``, ``"classes"`` or ``"regression"``)
        and evaluation protocol (a name of :data:`neuroaffect.evaluation.PROTOCOLS`).
    aliases : tuple of str
        Other accepted spellings (``("seed-iv",)``).
    options : tuple of str
        The keyword options of ``read_subject`` (what ``list_subjects`` passes on).
    required_options : tuple of (str, str)
        Options without a default, each with why it cannot have one (said in the error).
    trials_per_session : int or None
        Trials every session file must hold (the reader refuses fewer as truncated); None where
        the reader takes any number.
    no_within_subject : str or None
        Why within-subject protocols cannot be used on this dataset; None where they can.
    """

    name: str
    title: str
    find_subjects: Callable[..., Mapping[str, tuple[Path, ...]]]
    read_subject: Callable[..., EEGTrials]
    rating_names: tuple[str, ...]
    target: str
    task: str
    protocol: str
    aliases: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    required_options: tuple[tuple[str, str], ...] = ()
    trials_per_session: int | None = None
    no_within_subject: str | None = None

    @property
    def spellings(self) -> tuple[str, ...]:
        """``name`` and its aliases: every spelling that names this dataset."""
        return (self.name, *self.aliases)

    @property
    def public_name(self) -> str:
        """The spelling of recipe names and the command line: ``name`` with hyphens (``"seed-iv"``)."""
        return self.name.replace("_", "-")

    @property
    def within_subject(self) -> bool:
        """Whether within-subject protocols can be used (see ``no_within_subject``)."""
        return self.no_within_subject is None


@dataclass(frozen=True)
class SubjectSource:
    """Where one subject's data lives, and how to read just that subject.

    Parameters
    ----------
    subject : str
        The subject id (``"1"``, ``"2"``, ...: the dataset's subject number without padding).
    files : tuple of Path
        Every file the subject's trials are read from (a cache key should depend on them).
    dataset : str
        ``"deap"``, ``"seed"``, ``"seed_iv"``, ``"dreamer"`` or ``"eegmat"``.
    options : tuple of (str, object)
        Reader options (e.g. ``("sfreq", 200.0)``), kept hashable.
    """

    subject: str
    files: tuple[Path, ...]
    dataset: str
    options: tuple[tuple[str, object], ...] = ()

    def load(self) -> EEGTrials:
        """Read this subject's trials (only this subject's data is kept in memory)."""
        from . import READERS  # registered by the reader modules

        return READERS[self.dataset](self, **dict(self.options))


def subject_id(value, dataset: str) -> str:
    """Canonical subject id: ``3``, ``"3"``, ``"03"``, (DEAP) ``"s03"`` and (EEGMAT) ``"Subject03"`` give ``"3"``."""
    text = str(value).strip()
    if dataset == "deap" and re.fullmatch(r"[sS]\d+", text):
        text = text[1:]
    if dataset == "eegmat" and re.fullmatch(r"[sS]ubject\d+", text):
        text = text[len("subject"):]
    if isinstance(value, int | np.integer) or text.isdigit():
        return str(int(text))
    return text


def select(available: Mapping[str, object], subjects, dataset: str, where: Path) -> list[str]:
    """The requested subject ids in order (all available ones if ``subjects`` is None)."""
    if not available:
        raise FileNotFoundError(f"No {dataset} subject files found in {where}.")
    if subjects is None:
        return list(available)
    if isinstance(subjects, str | int | np.integer):
        subjects = [subjects]
    wanted = [subject_id(s, dataset) for s in subjects]
    unknown = [s for s in wanted if s not in available]
    if unknown:
        raise ValueError(
            f"Unknown {dataset} subject(s) {unknown} in {where}; available subjects: {list(available)}."
        )
    return list(dict.fromkeys(wanted))


def numeric_order(keys: Iterable[str]) -> list[str]:
    """Sort ids numerically (``"10"`` after ``"9"``)."""
    return sorted(keys, key=lambda k: (int(k) if k.isdigit() else float("inf"), k))


def loadmat(path: Path, what: str, **kwargs) -> dict:
    """``scipy.io.loadmat`` that names the file and says what is wrong when it cannot be read."""
    import scipy.io

    check_file(path, what)
    try:
        return scipy.io.loadmat(path, verify_compressed_data_integrity=False, **kwargs)
    except NotImplementedError as err:  # MATLAB v7.3 files are HDF5
        raise FileFormatError(
            path, f"is a MATLAB v7.3 (HDF5) file; expected the v5 format of {what} ({err})."
        ) from err
    except Exception as err:  # scipy raises many types for truncated / foreign files
        raise FileFormatError(
            path,
            f"cannot be read as a MATLAB .mat file ({type(err).__name__}: {err}); expected {what}. "
            "Is the file truncated (an interrupted download) or of another format?",
        ) from err


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that only builds numpy arrays and plain containers (no arbitrary code)."""

    _allowed = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        # Pickle protocol 5 (Python >= 3.8 with protocol=5, or numpy's own) stores an array as
        # _frombuffer(bytes, dtype, shape, order): np.frombuffer plus a reshape, no code is run.
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
        ("copy_reg", "_reconstructor"),
        ("copyreg", "_reconstructor"),
        ("__builtin__", "object"),
        ("builtins", "object"),
    }

    def find_class(self, module, name):
        if (module, name) not in self._allowed:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name} (only numpy arrays are expected)"
            )
        return super().find_class(module, name)


def load_pickle(path: Path, what: str) -> object:
    """Read a (Python 2 era) pickle of numpy arrays, with errors that name the file."""
    check_file(path, what)
    try:
        with open(path, "rb") as f:
            return _ArrayUnpickler(f, encoding="latin1").load()
    except Exception as err:
        raise FileFormatError(
            path,
            f"cannot be unpickled as {what} ({type(err).__name__}: {err}). Is the file truncated "
            "or of another format?",
        ) from err


def check_samples(array: np.ndarray, path: Path, what: str) -> None:
    """FileFormatError naming the file and trial if ``array`` holds NaN or inf."""
    if not np.issubdtype(array.dtype, np.number):
        raise FileFormatError(path, f"{what} holds {array.dtype} values; expected numbers.")
    if not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        raise FileFormatError(
            path,
            f"{what} contains {int((~np.isfinite(array)).sum())} NaN/inf sample(s) (first at index "
            f"{tuple(int(i) for i in bad)}); expected finite samples.",
        )


def find_root(path, marker: str, dataset: str) -> Path:
    """``path`` itself or ``path / marker`` when the user gave the parent folder."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{dataset} data not found: {path} does not exist.")
    if path.is_dir() and (path / marker).is_dir():
        return path / marker
    return path
