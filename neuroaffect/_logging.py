"""Logging and progress bars, in MNE's way.

Every module logs to the ``"neuroaffect"`` logger (or a child, ``logging.getLogger(__name__)``).
Its level is set with :func:`set_log_level` (like ``mne.set_log_level``) or, for one call, with the
``verbose`` parameter of the long functions (:func:`verbose` adds it). The default level is INFO,
or the value of the environment variable ``NEUROAFFECT_LOGGING_LEVEL``.

Messages are printed to ``sys.stderr`` (message only), unless the application configured logging
itself (the root logger has handlers, e.g. after ``logging.basicConfig``): they then go to its
handlers only, never twice.

Progress bars (:func:`progress_bar`, used by every loop that shows one) are drawn only when
``sys.stderr`` is a terminal (or in a Jupyter notebook) and the level is INFO or lower: a log file
or a pipe never receives the carriage-return redraws of a bar.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import numbers
import os
import re
import sys
import warnings

logger = logging.getLogger("neuroaffect")

#: Environment variable read for the default level (a level name, e.g. "WARNING").
LOG_LEVEL_ENV = "NEUROAFFECT_LOGGING_LEVEL"
_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING,
           "ERROR": logging.ERROR, "CRITICAL": logging.CRITICAL}
_VERBOSE_DOC = """verbose : bool, str, int or None, default=None
        Log level for this call: "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", True (INFO),
        False (WARNING) or an integer level; None keeps the level of
        :func:`neuroaffect.set_log_level`."""


def _parse_level(verbose) -> int:
    """The integer level of a ``verbose`` value (see :func:`set_log_level`)."""
    if verbose is None:
        env = os.environ.get(LOG_LEVEL_ENV)
        if env is None:
            return logging.INFO
        try:
            return _parse_level(env.strip())
        except ValueError as err:
            warnings.warn(f"Environment variable {LOG_LEVEL_ENV}: {err} Using INFO.", stacklevel=2)
            return logging.INFO
    if isinstance(verbose, bool):
        return logging.INFO if verbose else logging.WARNING
    if isinstance(verbose, numbers.Integral):
        verbose = int(verbose)
        if verbose < 0:
            raise ValueError(f"Invalid value for the 'verbose' parameter: expected a level >= 0, got {verbose}.")
        return verbose
    if isinstance(verbose, str):
        if verbose.upper() in _LEVELS:
            return _LEVELS[verbose.upper()]
        if verbose.isdigit():
            return int(verbose)
        allowed = ", ".join(repr(name) for name in _LEVELS)
        raise ValueError(f"Invalid value for the 'verbose' parameter. Allowed values are {allowed}, "
                         f"True, False, an integer level or None, but got {verbose!r}.")
    raise TypeError(f"The 'verbose' parameter must be a bool, str, int or None, got {type(verbose).__name__} "
                    f"({verbose!r}).")


def set_log_level(verbose=None, return_old_level=False):
    """Set the level of neuroaffect's log messages (and progress bars).

    Parameters
    ----------
    verbose : bool, str, int or None, default=None
        "DEBUG", "INFO", "WARNING", "ERROR" or "CRITICAL" (any case), an integer level (the
        ``logging`` constants), True (INFO) or False (WARNING). None: the environment variable
        ``NEUROAFFECT_LOGGING_LEVEL`` if set, else INFO. Above INFO, progress bars are hidden too.
    return_old_level : bool, default=False
        Return the level in force before the call.

    Returns
    -------
    old_level : int
        Only when ``return_old_level`` is True.

    Examples
    --------
    >>> import neuroaffect
    >>> old = neuroaffect.set_log_level("WARNING", return_old_level=True)
    >>> neuroaffect.set_log_level(old)
    """
    old = logger.level
    logger.setLevel(_parse_level(verbose))
    return old if return_old_level else None


@contextlib.contextmanager
def use_log_level(verbose):
    """Context manager: log at level ``verbose`` inside the block (None: leave the level as it is)."""
    if verbose is None:
        yield
        return
    old = set_log_level(verbose, return_old_level=True)
    try:
        yield
    finally:
        logger.setLevel(old)


def verbose(func):
    """Decorator: give ``func`` a keyword-only ``verbose=None`` parameter (see :func:`use_log_level`).

    If ``func`` has no ``verbose`` parameter of its own, the wrapper takes it, adds it to the
    signature and to the numpydoc Parameters section, so a one-line change gives a function MNE's
    ``verbose=``. If it has one, the wrapper reads it and passes it on.
    """
    sig = inspect.signature(func)
    own = "verbose" in sig.parameters

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if own:
            level = sig.bind(*args, **kwargs).arguments.get("verbose")
        else:
            level = kwargs.pop("verbose", None)
        with use_log_level(level):
            return func(*args, **kwargs)

    if not own:
        params = list(sig.parameters.values())
        at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
        params.insert(at, inspect.Parameter("verbose", inspect.Parameter.KEYWORD_ONLY, default=None))
        wrapper.__signature__ = sig.replace(parameters=params)
        wrapper.__doc__ = _add_verbose_doc(func.__doc__)
    return wrapper


def _add_verbose_doc(doc):
    """``doc`` with the ``verbose`` entry at the end of its Parameters section (unchanged if none)."""
    match = doc and re.search(r"\n([ \t]*)Parameters\n[ \t]*-{3,}\n", doc)
    if not match or "verbose :" in doc:
        return doc
    indent = match.group(1)
    entry = indent + _VERBOSE_DOC.replace("\n    ", "\n" + indent)
    # the next section heading (a line followed by dashes) after Parameters, else the end
    following = re.compile(rf"\n\n{indent}\S[^\n]*\n{indent}-{{3,}}\n").search(doc, match.end())
    at = following.start() if following else len(doc.rstrip())
    return doc[:at].rstrip("\n") + "\n" + entry + doc[at:]


def _in_notebook() -> bool:
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


def show_progress() -> bool:
    """Whether progress bars are drawn now: stderr is a terminal (or a notebook) and the level <= INFO."""
    if not logger.isEnabledFor(logging.INFO):
        return False
    try:
        terminal = sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        terminal = False
    return terminal or _in_notebook()


def progress_bar(iterable=None, *, disable=False, **kwargs):
    """A ``tqdm.auto.tqdm`` bar, drawn only where :func:`show_progress` says so.

    Parameters
    ----------
    iterable : iterable, optional
        As for tqdm (or ``total=`` and ``update()``).
    disable : bool, default=False
        Hide the bar in any case (a caller's ``progress=False``).
    **kwargs
        Passed to tqdm (``desc``, ``total``, ``unit``, ``leave``, ...).

    Returns
    -------
    tqdm.tqdm
        A disabled bar still iterates and accepts ``update``, ``set_postfix`` and ``close``.
    """
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=bool(disable) or not show_progress(), **kwargs)


class _StderrHandler(logging.StreamHandler):
    """Writes to the current ``sys.stderr`` (looked up at each record, so redirections apply), and
    stays silent when the root logger has handlers of its own (they receive the record instead)."""

    def __init__(self):
        super().__init__(sys.stderr)
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ sets it; the current sys.stderr is used instead
        pass

    def filter(self, record):
        return not logging.getLogger().handlers and super().filter(record)


def _configure() -> None:
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
    if logger.level == logging.NOTSET:
        logger.setLevel(_parse_level(None))


_configure()

__all__ = ["progress_bar", "set_log_level", "show_progress", "use_log_level", "verbose"]
