"""Output folders are locked while a run writes them: a second run into the same folder is refused."""

import subprocess
import sys
import textwrap

import pytest

from neuroaffect._atomic import (
    _HELD,
    LOCK_FILE,
    OutputLockedError,
    lock_output,
    release_output_locks,
    releases_output_locks,
)
from neuroaffect.cli import main


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROAFFECT_CACHE", str(tmp_path / "cache"))


def _holder(folder, name=LOCK_FILE):
    """Another process that takes the lock of ``folder`` and keeps it until killed."""
    code = textwrap.dedent(f"""
        import sys, time
        from neuroaffect._atomic import lock_output
        lock_output({str(folder)!r}, name={name!r})
        print("locked", flush=True)
        time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _can_lock(folder, name=LOCK_FILE) -> bool:
    """Whether another process can take the lock of ``folder`` now."""
    code = ("import sys\nfrom neuroaffect._atomic import lock_output, OutputLockedError\n"
            f"try:\n    lock_output({str(folder)!r}, name={name!r})\nexcept OutputLockedError:\n    sys.exit(3)\n")
    return subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_lock_is_exclusive_between_processes_and_released_when_the_holder_dies(tmp_path):
    folder = tmp_path / "out"
    proc = _holder(folder)
    try:
        with pytest.raises(OutputLockedError, match=f"pid {proc.pid} on "):
            lock_output(folder)
    finally:
        proc.kill()  # SIGKILL: no clean-up code runs, the OS drops the lock
        proc.wait()
    path = lock_output(folder)
    assert path == folder.resolve() / LOCK_FILE and path in _HELD
    assert lock_output(folder) == path  # re-entrant within a process
    assert not _can_lock(folder)
    release_output_locks([path])
    assert path not in _HELD and _can_lock(folder)


def test_releases_output_locks_on_return_and_on_error(tmp_path):
    @releases_output_locks
    def job(folder, fail):
        lock_output(folder)
        if fail:
            raise RuntimeError("boom")
        return "done"

    held_before = set(_HELD)
    assert job(tmp_path / "a", False) == "done"
    with pytest.raises(RuntimeError):
        job(tmp_path / "b", True)
    assert set(_HELD) == held_before
    assert _can_lock(tmp_path / "a") and _can_lock(tmp_path / "b")


@pytest.mark.parametrize("argv", [
    ["run", "deap", "--quick", "--quiet"],
    ["run", "leakage-demo", "--quick", "--quiet"],
    ["run", "fmri-vad", "--quick", "--quiet"],
    ["simulate", "deap", "--subjects", "1", "--quiet"],
])
def test_a_second_run_into_a_busy_folder_is_refused_before_any_work(argv, tmp_path, capsys):
    out = tmp_path / "res"
    proc = _holder(out)
    try:
        with pytest.raises(SystemExit) as exit_:
            main([*argv, "--out", str(out)])
    finally:
        proc.kill()
        proc.wait()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith(f"neuroaffect {argv[0]}")
    assert f"error: --out {out}: another neuroaffect run is writing to it now (pid {proc.pid} on " \
           in err.splitlines()[-1]
    assert err.splitlines()[-1].endswith("wait for it to finish or choose another --out.")
    assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]  # nothing written
    assert not (tmp_path / "cache").exists()  # nothing simulated


def test_fmri_semantic_locks_its_output_folder(tmp_path, capsys):
    out = tmp_path / "sem"
    proc = _holder(out)
    try:
        with pytest.raises(SystemExit) as exit_:
            main(["run", "fmri-semantic", "--quick", "--out", str(out)])
    finally:
        proc.kill()
        proc.wait()
    assert exit_.value.code == 2
    assert "another neuroaffect run is writing to it now" in capsys.readouterr().err.splitlines()[-1]
    assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]


def test_a_run_holds_the_lock_while_it_writes_and_releases_it_after(tmp_path, monkeypatch):
    import neuroaffect.evaluation as evaluation

    out = tmp_path / "res"
    seen = []
    original = evaluation.cross_validate_subjects

    def spy(*args, **kwargs):
        seen.append(_can_lock(out))  # another process, while this run cross-validates
        return original(*args, **kwargs)

    monkeypatch.setattr(evaluation, "cross_validate_subjects", spy)
    assert main(["run", "deap", "--quick", "--quiet", "--n-splits", "2", "--out", str(out)]) == 0
    assert len(seen) == 4 and not any(seen)  # the model and its three baselines
    assert (out / LOCK_FILE).is_file() and _can_lock(out)
    # the same process can run into the folder again (the report is replaced, finished jobs reused)
    assert main(["run", "deap", "--quick", "--quiet", "--n-splits", "2", "--out", str(out)]) == 0
