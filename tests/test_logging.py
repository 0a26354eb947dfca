"""Logging in MNE's way: set_log_level, verbose=, progress bars only on a terminal, compact reprs."""

import inspect
import io
import logging
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

import neuroaffect
from neuroaffect._logging import (
    LOG_LEVEL_ENV,
    logger,
    progress_bar,
    set_log_level,
    use_log_level,
    verbose,
)


@pytest.fixture(autouse=True)
def _restore_level():
    old = logger.level
    yield
    logger.setLevel(old)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("value, level", [
    ("DEBUG", logging.DEBUG), ("info", logging.INFO), ("Warning", logging.WARNING), ("ERROR", logging.ERROR),
    (True, logging.INFO), (False, logging.WARNING), (15, 15), (np.int64(40), 40), ("30", 30),
])
def test_set_log_level_accepts_mne_values(value, level):
    assert neuroaffect.set_log_level is set_log_level
    old = set_log_level(value, return_old_level=True)
    assert logger.level == level
    assert set_log_level(old) is None and logger.level == old


def test_set_log_level_none_reads_the_environment(monkeypatch):
    monkeypatch.setenv(LOG_LEVEL_ENV, "error")
    set_log_level(None)
    assert logger.level == logging.ERROR
    monkeypatch.delenv(LOG_LEVEL_ENV)
    set_log_level(None)
    assert logger.level == logging.INFO


def test_set_log_level_errors_name_the_parameter():
    with pytest.raises(ValueError, match=r"Invalid value for the 'verbose' parameter\. Allowed values are 'DEBUG', "
                                         r".*but got 'LOUD'"):
        set_log_level("LOUD")
    with pytest.raises(TypeError, match="'verbose' parameter must be a bool, str, int or None, got float"):
        set_log_level(1.5)
    with pytest.raises(ValueError, match="expected a level >= 0, got -1"):
        set_log_level(-1)


def test_verbose_decorator_sets_the_level_for_one_call_only():
    seen = []

    @verbose
    def long_function(x, *, option=1):
        """Do it.

        Parameters
        ----------
        x : int

        Returns
        -------
        int
        """
        seen.append(logger.getEffectiveLevel())
        if x < 0:
            raise RuntimeError("boom")
        return x

    set_log_level("INFO")
    assert long_function(1, verbose="ERROR") == 1 and seen[-1] == logging.ERROR
    assert logger.level == logging.INFO
    assert long_function(2) == 2 and seen[-1] == logging.INFO
    with pytest.raises(RuntimeError):
        long_function(-1, verbose=False)
    assert seen[-1] == logging.WARNING and logger.level == logging.INFO  # restored after an error
    sig = inspect.signature(long_function)
    assert sig.parameters["verbose"].kind is inspect.Parameter.KEYWORD_ONLY and sig.parameters["verbose"].default is None
    doc = long_function.__doc__
    assert doc.index("x : int") < doc.index("verbose : bool, str, int or None") < doc.index("Returns")


def test_long_functions_take_verbose():
    from neuroaffect.evaluation import cross_validate_subjects
    from neuroaffect.features import tokens_for_dataset

    for func in (tokens_for_dataset, cross_validate_subjects):
        assert inspect.signature(func).parameters["verbose"].default is None
        assert "verbose : bool, str, int or None" in func.__doc__


def _sources(n_subjects=2):
    from neuroaffect.simulate import simulate_trials

    trials = simulate_trials("deap", n_subjects=n_subjects, n_trials=2, trial_duration=2.0)
    return [SimpleNamespace(subject=s, files=(), load=lambda s=s: trials[trials.subject == s])
            for s in np.unique(trials.subject)]


def test_tokens_for_dataset_verbose_controls_its_log_line(caplog):
    from neuroaffect.features import Tokenizer, tokens_for_dataset

    sources = _sources()
    with caplog.at_level(logging.INFO, logger="neuroaffect"):
        tokens_for_dataset(sources, Tokenizer(window=1.0), progress=False)
        assert [r.getMessage() for r in caplog.records] == [
            "BDE tokens of 2 subject(s): 2 computed, 0 read from the cache (none)."]
        caplog.clear()
        tokens_for_dataset(sources, Tokenizer(window=1.0), progress=False, verbose="WARNING")
        assert not caplog.records
    assert logger.level == logging.INFO


def test_messages_go_to_stderr_unless_the_application_configured_logging(monkeypatch, capsys):
    monkeypatch.setattr(logging.root, "handlers", [])
    set_log_level("INFO")
    logging.getLogger("neuroaffect.evaluation.targets").info("hello from a child logger")
    assert capsys.readouterr().err == "hello from a child logger\n"
    with use_log_level("WARNING"):
        logger.info("hidden")
    assert capsys.readouterr().err == ""
    handler = logging.StreamHandler(io.StringIO())
    monkeypatch.setattr(logging.root, "handlers", [handler])
    logger.warning("once")
    assert capsys.readouterr().err == "" and handler.stream.getvalue() == "once\n"  # not printed twice


def test_progress_bars_only_on_a_terminal(monkeypatch):
    not_a_terminal = io.StringIO()
    monkeypatch.setattr("sys.stderr", not_a_terminal)
    assert list(progress_bar(range(3), desc="work")) == [0, 1, 2]
    assert not_a_terminal.getvalue() == ""
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    set_log_level("INFO")
    assert list(progress_bar(range(3), desc="work")) == [0, 1, 2]
    assert "work" in terminal.getvalue() and "\r" in terminal.getvalue()
    terminal.seek(0)
    terminal.truncate()
    list(progress_bar(range(3), desc="off", disable=True))  # the caller's progress=False
    set_log_level("WARNING")  # as in MNE: above INFO, no bars
    list(progress_bar(range(3), desc="quiet"))
    assert terminal.getvalue() == ""


def test_every_progress_bar_goes_through_the_helper():
    import pathlib

    root = pathlib.Path(neuroaffect.__file__).parent
    users = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                   if "import tqdm" in p.read_text() or "tqdm(" in p.read_text())
    assert users == ["_logging.py"]


def test_a_logged_run_has_no_progress_bar_redraws(tmp_path, monkeypatch, capsys):
    from neuroaffect.cli import main

    monkeypatch.setenv("NEUROAFFECT_CACHE", str(tmp_path / "cache"))
    # no --quiet: simulation, BDE tokens and CV jobs would each draw a bar on a terminal
    assert main(["run", "deap", "--quick", "--n-splits", "2", "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "it/s" not in err


def test_window_tokens_repr_shows_shapes_and_ids():
    from neuroaffect.features import WindowTokens

    n = 12
    tokens = WindowTokens(
        X=np.zeros((n, 19, 5), np.float32), ratings=np.zeros((n, 1)), rating_names=("condition",), scales={},
        subject=np.repeat(["1", "2", "3", "4"], 3), session=np.ones(n, int),
        trial_key=np.array([f"{s}/1/{t}" for s in "1234" for t in (1, 2, 2)]), start=np.zeros(n, int),
        stop=np.full(n, 500), ch_names=[f"c{i}" for i in range(19)], positions=np.zeros((19, 3)),
        band_names=("delta", "theta", "alpha", "beta", "gamma"), sfreq=500.0, dataset="eegmat",
    )
    assert repr(tokens) == "<WindowTokens | 12 windows × 19 electrodes × 5 bands, 4 subjects, 8 trials, dataset 'eegmat'>"
    assert repr(tokens[:1]) == "<WindowTokens | 1 window × 19 electrodes × 5 bands, 1 subject, 1 trial, dataset 'eegmat'>"


def test_montage_positions_raise_no_mne_deprecation_warning():
    import mne

    from neuroaffect import channels

    name = channels.standard_montage_name("1005")
    if "colin27_1005" in mne.channels.get_builtin_montages():
        assert name == "colin27_1005"
    channels._standard_positions.cache_clear()
    channels._upper_to_standard.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        positions = channels.ch_positions(["Fp1", "Cz", "CB1"])
        channels.make_montage(["Fp1", "Cz"])
    assert positions.shape == (3, 3)
