"""Atomic writes: an interrupted write leaves the old file, never a partial one."""

import os

import pytest

from neuroaffect._atomic import atomic_path, file_mode, write_text_atomic


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = write_text_atomic(tmp_path / "results.json", "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["results.json"]


def test_new_files_get_umask_permissions_and_replacements_keep_theirs(tmp_path):
    target = write_text_atomic(tmp_path / "sub" / "report.md", "a")
    assert target.stat().st_mode & 0o777 == file_mode()
    os.chmod(target, 0o640)
    write_text_atomic(target, "b")
    assert target.stat().st_mode & 0o777 == 0o640 and target.read_text() == "b"


def test_temporary_name_keeps_the_extension_writers_dispatch_on(tmp_path):
    with atomic_path(tmp_path / "sub-01_bold.nii.gz") as tmp:
        assert tmp.name.endswith(".nii.gz") and tmp.parent == tmp_path
        tmp.write_bytes(b"x")
    assert (tmp_path / "sub-01_bold.nii.gz").read_bytes() == b"x"


def test_a_symlinked_target_is_replaced_through_the_link(tmp_path):
    real = tmp_path / "disk2" / "tokens.h5"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "link.h5"
    link.symlink_to(real)
    with atomic_path(link) as tmp:
        assert tmp.parent == real.parent  # same file system as the file that is replaced
        tmp.write_text("new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new" and link.read_text() == "new"
    assert sorted(os.listdir(real.parent)) == ["tokens.h5"]
    # A dangling link is written through too: the file appears where the link points.
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "later" / "out.txt")
    write_text_atomic(tmp_path / "dangling.txt", "x")
    assert (tmp_path / "dangling.txt").is_symlink() and (tmp_path / "later" / "out.txt").read_text() == "x"
