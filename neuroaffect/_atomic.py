"""Atomic file writes.

Every result, cache, report and simulated file is written through :func:`atomic_path`: the data go to
a temporary file in the destination folder, which then replaces the destination with ``os.replace``.
A crash or an interrupt leaves either the old file or the new one, never a partial file.
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
