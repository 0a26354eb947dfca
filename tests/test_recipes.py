"""Each dataset recipe runs on its simulated stand-in; the registry resolves every name."""

import json

import pytest

from neuroaffect.recipes import RECIPES, get_recipe, run_recipe


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROAFFECT_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("name, protocol, n_classes", [
    ("seed", "seed-9-6", 3), ("seed-iv", "seed-iv-16-8", 4), ("dreamer", "within-subject-kfold", 2),
])
def test_dataset_recipes_quick(name, protocol, n_classes, tmp_path):
    out = tmp_path / name
    assert run_recipe(name, ["--quick", "--quiet", "--out", str(out), "--n-splits", "3"]) == 0
    doc = json.loads((out / "results.json").read_text())
    run = doc["runs"][0]
    assert run["config"]["protocol"] == protocol and run["config"]["leakage_free"]
    # the dataset in its public spelling (not the DATASETS key "seed_iv")
    assert doc["notes"][0].startswith(f"SIMULATED {name.upper()}-format data")
    assert doc["title"].startswith(f"neuroaffect {name.upper()}:")
    assert len(run["config"]["class_names"]) == n_classes
    assert run["leakage"]["leaked_test_fraction"] == 0
    if name.startswith("seed"):  # the first 9 (16) of 15 (24) trials train: 6 (8) test trials x 3 sessions
        assert run["subjects"][0]["n_test_trials"] == (18 if name == "seed" else 24)


def test_recipe_registry_and_model_params(tmp_path):
    assert set(RECIPES) >= {"deap", "seed", "seed-iv", "dreamer", "leakage-demo", "fmri-semantic", "fmri-vad"}
    assert get_recipe("seed_iv") is get_recipe("seed-iv")
    with pytest.raises(ValueError, match="recipe"):
        get_recipe("mnist")
    out = tmp_path / "deap"
    assert run_recipe("deap", ["--quick", "--quiet", "--out", str(out), "--target", "arousal", "--task",
                               "regression", "--model-param", "alpha=10.0"]) == 0
    run = json.loads((out / "results.json").read_text())["runs"][0]
    assert run["config"]["metric"] == "ccc" and "alpha=10.0" in run["config"]["estimator"]


def test_every_registered_dataset_has_a_recipe():
    """The dataset registry (issue 14, item 8): each dataset has a reader, a recipe and stand-in settings."""
    from neuroaffect.io import DATASETS
    from neuroaffect.recipes._eeg import SIMULATED

    assert set(SIMULATED) == set(DATASETS)  # stand-in settings keyed by the registry's names
    for name, spec in DATASETS.items():
        assert spec.public_name in RECIPES
        assert all(get_recipe(spelling) is get_recipe(spec.public_name) for spelling in spec.spellings)
        if SIMULATED[name] is not None:
            import neuroaffect.simulate as simulate

            assert callable(getattr(simulate, f"write_{name}"))


def test_recipe_helpers_accept_both_spellings(tmp_path):
    import argparse

    from neuroaffect.recipes._eeg import (
        build_parser,
        dataset_key,
        dataset_name,
        dataset_ratings,
        fill_dataset_defaults,
        prepare_data,
    )

    assert {dataset_key(s) for s in ("seed-iv", "seed_iv")} == {"seed_iv"}
    assert {dataset_name(s) for s in ("seed-iv", "seed_iv")} == {"seed-iv"}
    assert dataset_name("mnist") == "mnist"  # left for argparse's choices to refuse
    assert dataset_ratings("seed-iv") == dataset_ratings("seed_iv") == ("emotion",)
    for spelling in ("seed-iv", "seed_iv"):
        args = build_parser(spelling, prog="p", description="d").parse_args(["--quick", "--subjects", "1"])
        assert (args.target, args.task, args.protocol) == ("emotion", "classes", "seed-iv-16-8")
        filled = argparse.Namespace(target=None, task="regression", protocol=None)
        fill_dataset_defaults(spelling, filled)
        assert vars(filled) == {"target": "emotion", "task": "regression", "protocol": "seed-iv-16-8"}
    # the simulated stand-in is the same data (one cache entry) whichever spelling asks for it
    args = build_parser("seed-iv", prog="p", description="d").parse_args(["--quick", "--subjects", "1"])
    (a, _, sim_a), (b, _, sim_b) = (prepare_data(s, args, progress=False, log=lambda _: None)
                                    for s in ("seed-iv", "seed_iv"))
    assert a == b and sim_a == sim_b


def test_seed_iv_real_data_needs_sfreq(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_recipe("seed-iv", ["--data-dir", str(tmp_path), "--quiet", "--out", str(tmp_path / "o")])
    assert exit_.value.code == 2
    assert "neuroaffect run seed-iv: error: SEED-IV needs --sfreq with --data-dir" in capsys.readouterr().err
