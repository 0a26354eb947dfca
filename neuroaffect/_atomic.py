"""Atomic file writes and output-folder locks.

Every result, cache, report and simulated file is written through :func:`atomic_path`: the data go to
a temporary file in the destination folder, which then replaces the destination with ``os.replace``.
A crash or an interrupt leaves either the old file or the new one, never a partial file.

A run holds a lock on its output folder (:func:`lock_output`), so a second run into the same folder
is refused while the first one writes there, instead of mixing the files of both.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path


@cache
def file_mode() -> int:
    """Permissions of a new file under the process umask (``mkstemp`` would make it private, 0o600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``, on error it is removed.

    The temporary name keeps ``path``'s extensions (``.nii.gz``, ``.png``, ...) so writers that choose
    a format by extension still work. The new file gets the old file's permissions if ``path``
    exists, else the usual ones under the umask. Parent folders are created. If ``path`` is a
    symbolic link, the file it points to is replaced (atomically, in that file's folder) and the
    link is kept.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> with atomic_path(out) as tmp:
    ...     np.save(tmp, np.arange(3))
    >>> np.load(out).tolist()
    [0, 1, 2]
    """
    # Resolve symbolic links first: os.replace on the link itself would swap the link for a regular
    # file and leave the file it pointed to stale.
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else file_mode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + "".join(path.suffixes[-2:]))
    os.close(fd)
    tmp = Path(tmp)
    try:
        os.chmod(tmp, mode)
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


# ------------------------------------------------------------------------------------ output locks
#: Name of the lock file a run keeps in its output folder (left there; only the OS lock matters).
LOCK_FILE = ".neuroaffect.lock"
# lock file (real path) -> its open file, for the locks this process holds
_HELD: dict[Path, object] = {}


class OutputLockedError(OSError):
    """Another process holds the lock of an output folder (it is writing there now).

    Attributes
    ----------
    path : Path
        The lock file.
    holder : str
        What the holder wrote in the lock file (process id, host, start time), or "".
    """

    def __init__(self, path, holder: str = ""):
        self.path, self.holder = Path(path), holder
        super().__init__(f"{self.path.parent}: another process is writing there ({holder or 'holder unknown'}).")


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock on the open file ``fd`` without waiting; False if another process has it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def lock_output(folder, *, name: str = LOCK_FILE) -> Path:
    """Lock an output folder for this process, so no other run writes there at the same time.

    The lock is an OS lock (``fcntl.flock``; ``msvcrt.locking`` on Windows) on the file ``name``
    in ``folder``: the OS releases it when the process ends, however it ends (a crash or SIGKILL
    leaves no stale lock to clean up). It is held until :func:`release_output_locks` (the recipes
    release theirs when they return: :func:`releases_output_locks`). Taking a lock this process
    already holds is a no-op. The lock file records the holder's process id, host and start time,
    for the message of the next run; it is left in place (removing it would race with a waiting
    run).

    Parameters
    ----------
    folder : path-like
        Created with its parents if missing.
    name : str, default=".neuroaffect.lock"
        The lock file's name (one folder can hold several outputs, each with its own lock file).

    Returns
    -------
    Path
        The lock file.

    Raises
    ------
    OutputLockedError
        If another process holds the lock.
    OSError
        If the folder cannot be created or written (e.g. ``FileExistsError`` for a file of that name,
        ``PermissionError``).
    """
    import socket
    import time

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(os.path.realpath(folder)) / name
    if path in _HELD:
        return path
    f = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held open until released)
    f.seek(0)
    if not _try_lock(f.fileno()):
        try:
            holder = " ".join(f.read().split())
        except OSError:
            holder = ""
        f.close()
        raise OutputLockedError(path, holder)
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()} on {socket.gethostname()}, since "
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime())}\n")
    f.flush()
    _HELD[path] = f
    return path


def release_output_locks(paths=None) -> None:
    """Release locks taken by :func:`lock_output` (all of this process's when ``paths`` is None)."""
    for path in list(_HELD) if paths is None else [Path(p) for p in paths]:
        f = _HELD.pop(path, None)
        if f is not None:
            f.close()  # closing the file releases its lock


def releases_output_locks(func):
    """Decorator: the output locks taken during a call of ``func`` are released when it returns or raises."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        before = set(_HELD)
        try:
            return func(*args, **kwargs)
        finally:
            release_output_locks([p for p in list(_HELD) if p not in before])

    return wrapper
