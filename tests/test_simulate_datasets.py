"""Dataset writers: deterministic, atomic, validated."""

import numpy as np
import pytest

from neuroaffect.simulate import (
    simulate_trials,
    write_deap,
    write_dreamer,
    write_seed,
    write_seed_iv,
)
from neuroaffect.simulate import writers as sim_writers


def test_writers_are_deterministic_and_leave_no_temporary_files(tmp_path):
    a = write_deap(tmp_path / "a", 1, n_trials=2, trial_duration=1.0, seed=9, progress=False)
    b = write_deap(tmp_path / "b", 1, n_trials=2, trial_duration=1.0, seed=9, progress=False)
    c = write_deap(tmp_path / "c", 1, n_trials=2, trial_duration=1.0, seed=10, progress=False)
    assert (a / "s01.dat").read_bytes() == (b / "s01.dat").read_bytes()
    assert (a / "s01.dat").read_bytes() != (c / "s01.dat").read_bytes()
    write_dreamer(tmp_path / "d", 1, n_trials=1, trial_duration=1.0, progress=False)
    for folder in tmp_path.rglob("*"):
        assert not folder.name.startswith("."), f"temporary file left behind: {folder}"


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def boom(self, obj):
        raise RuntimeError("disk full")

    monkeypatch.setattr(sim_writers._Py2Pickler, "dump", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_deap(tmp_path, 1, n_trials=1, trial_duration=1.0, progress=False)
    assert list((tmp_path / "data_preprocessed_python").iterdir()) == []


def test_parameter_errors(tmp_path):
    for n_trials in (16, 12):  # a SEED session holds 15 trials; the reader refuses fewer as truncated
        with pytest.raises(ValueError, match="'n_trials'.*holds 15 trials"):
            write_seed(tmp_path, 1, n_trials=n_trials, progress=False)
    with pytest.raises(ValueError, match="'n_trials'.*1..24"):
        write_seed_iv(tmp_path, 1, n_trials=0, progress=False)
    with pytest.raises(ValueError, match="'n_subjects'"):
        write_deap(tmp_path, 0, progress=False)
    with pytest.raises(ValueError, match="'trial_duration'"):
        simulate_trials("deap", 1, 1, trial_duration=-2.0)
    with pytest.raises(ValueError, match="'seed'"):
        simulate_trials("deap", 1, 1, trial_duration=1.0, seed=None)
    with pytest.raises(ValueError, match="at least 2 samples"):
        simulate_trials("deap", 1, 1, trial_duration=0.001)
    with pytest.raises(ValueError, match="'dataset'"):
        simulate_trials("deep")
    with pytest.raises(ValueError, match="Unknown channel"):
        simulate_trials("deap", 1, 1, trial_duration=1.0, ch_names=["Fp1", "XX9"])


def test_default_durations_follow_the_datasets():
    seed_trials = simulate_trials("seed", 1, 2, trial_duration=None, ch_names=["Cz", "Pz"])
    assert list(seed_trials.n_times) == [235 * 200, 233 * 200]
    dreamer = simulate_trials(
        "dreamer", 2, 2, trial_duration=None, baseline_duration=0, ch_names=["Cz"]
    )
    lengths = dreamer.n_times.reshape(2, 2)
    assert np.array_equal(lengths[0], lengths[1])  # same clips for every subject
    assert ((lengths >= 65 * 128) & (lengths <= 393 * 128)).all()
    seed_iv = simulate_trials("seed_iv", 1, 24, trial_duration=0.1, n_sessions=3, ch_names=["Cz"])
    assert list(seed_iv.rating("emotion")[24:30]) == [2, 1, 3, 0, 0, 2]  # session 2 sequence


def test_realistic_design_imbalance_and_subject_offsets():
    from neuroaffect.simulate import REALISTIC, EffectSizes, StudyDesign, simulate_trials

    trials = simulate_trials("deap", 3, 16, trial_duration=2.0, effects=EffectSizes.realistic(), design=REALISTIC)
    high = trials.rating("valence") >= 5
    for s in ("1", "2", "3"):
        assert high[trials.subject == s].sum() == 12  # 1:3, exactly, per subject
    dreamer = simulate_trials("dreamer", 1, 20, trial_duration=2.0, baseline_duration=0, design=REALISTIC)
    assert (dreamer.rating("valence") >= 3).sum() == 15
    # larger subject offsets: per-electrode power differs more between subjects
    def spread(design):
        t = simulate_trials("seed", 6, 1, trial_duration=4.0, design=design, effects=EffectSizes.none())
        log_power = np.array([np.log(np.var(s, axis=1)) for s in t.signals])
        return log_power.std(axis=0).mean()
    assert spread(StudyDesign(subject_gain_db=4.0)) > 1.5 * spread(StudyDesign())
    with pytest.raises(ValueError, match="'high_fraction' parameter"):
        StudyDesign(high_fraction=1.0)
    assert EffectSizes.realistic().fingerprint_db > EffectSizes().fingerprint_db
    assert EffectSizes.realistic().valence_asymmetry_db < EffectSizes().valence_asymmetry_db
