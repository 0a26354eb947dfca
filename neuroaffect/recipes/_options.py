"""Command-line option helpers every recipe shares (EEG and fMRI): argparse types, the help
formatter, option errors as usage errors, the cache folder, and the checks of ``--data-dir``,
``--device`` and ``--out`` (with the output lock) made before any work.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from pathlib import Path

from .._atomic import OutputLockedError, lock_output
from .._validation import check_positive


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except None: such an option's help says what its absence means."""

    def _get_help_string(self, action):
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def int_at_least(minimum: int):
    """argparse ``type``: an integer >= ``minimum``."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def n_jobs(text):
    """argparse ``type``: a joblib ``n_jobs`` (a non-zero integer; negative counts from all cores)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-zero integer (-1: all cores), got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("expected a non-zero integer (1: no parallelism, -1: all cores), got 0")
    return value


def positive_float(text):
    """argparse ``type``: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    try:
        return check_positive("value", value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}") from None


@contextlib.contextmanager
def option_errors(parser: argparse.ArgumentParser | None, prefix: str = ""):
    """Report ``ValueError`` / ``TypeError`` raised in the block as ``parser.error`` (exit status 2).

    Wrap only code that interprets command-line options; with ``parser`` None errors pass through.
    """
    try:
        yield
    except (ValueError, TypeError) as err:
        if parser is None:
            raise
        parser.error(f"{prefix}{err}")


def cache_root() -> Path:
    """Folder for simulated data and feature caches (``$NEUROAFFECT_CACHE`` or ``~/.cache/neuroaffect``)."""
    return Path(os.environ.get("NEUROAFFECT_CACHE", Path.home() / ".cache" / "neuroaffect"))


def check_run_options(parser: argparse.ArgumentParser, args) -> None:
    """Check ``--data-dir``, ``--device`` and ``--out``, and lock the output; errors through ``parser.error``.

    Shared by every recipe, before any work: ``--data-dir`` (when given) must exist; a CUDA
    ``--device`` needs a GPU; ``--out`` must be a folder that can be created and written. The output
    is then locked for the rest of the run (:func:`neuroaffect._atomic.lock_output`: an OS lock in the folder, released when the recipe returns or the process ends), so a second run
    into the same output while this one writes there is refused.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    args : argparse.Namespace
        Reads ``data_dir``, ``out`` and, where the recipe has it, ``device``.
    """
    data_dir = getattr(args, "data_dir", None)
    if data_dir is not None and not Path(data_dir).exists():
        parser.error(f"--data-dir {data_dir}: no such file or folder; expected the dataset's folder.")
    problem = cuda_problem(getattr(args, "device", None))
    if problem:
        parser.error(f"--device {args.device}: {problem}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out}: is a file; expected a folder (created if missing).")
    try:
        lock_output(out, name=".neuroaffect.lock")
        if not os.access(out, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OutputLockedError as err:
        parser.error(f"--out {out}: another neuroaffect run is writing to it now "
                     f"({err.holder or 'holder unknown'}); wait for it to finish or choose another --out.")
    except OSError as err:
        why = err.strerror or str(err)
        if isinstance(err, FileExistsError | NotADirectoryError):
            why = "a file is in the way of the folder"
        parser.error(f"--out {out}: cannot be written ({why}); expected a folder you can write to.")


def cuda_problem(device) -> str | None:
    """Why ``device`` (an estimator's or recipe's device: "cpu", "cuda", "cuda:1", ...) cannot be used here.

    Returns None for a device that is not CUDA (left to the estimator to validate) and for an
    available CUDA device; otherwise what is missing, e.g. "no CUDA GPU is available here (...)".
    """
    if not isinstance(device, str) or not device.lower().startswith("cuda"):
        return None
    import torch

    if not torch.cuda.is_available():
        return ("no CUDA GPU is available here (torch.cuda.is_available() is False); "
                "use cpu, or auto to use a GPU where there is one.")
    index = device.partition(":")[2]
    n = torch.cuda.device_count()
    if index.isdigit() and int(index) >= n:
        return f"this machine has {n} CUDA device(s) (cuda:0 ... cuda:{n - 1})."
    return None
