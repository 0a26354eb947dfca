"""Ready-to-run recipes: one module per dataset (and the leakage demonstration), each with
``main(argv=None) -> int``. ``neuroaffect run <name>`` and the scripts in ``recipes/`` call them.
"""

from __future__ import annotations

import importlib

from .._validation import check_option

#: recipe name -> module (imported only when the recipe runs).
RECIPES = {
    "leakage-demo": "neuroaffect.recipes.leakage_demo",
    "deap": "neuroaffect.recipes.deap",
    "seed": "neuroaffect.recipes.seed",
    "seed-iv": "neuroaffect.recipes.seed_iv",
    "dreamer": "neuroaffect.recipes.dreamer",
    "eegmat": "neuroaffect.recipes.eegmat",
    "bids": "neuroaffect.recipes.bids",
    "fmri-semantic": "neuroaffect.recipes.fmri_semantic",
    "fmri-vad": "neuroaffect.recipes.fmri_vad",
    "fmri-maps": "neuroaffect.recipes.fmri_maps",
}
#: what ``neuroaffect run`` runs with no recipe name.
DEFAULT_RECIPE = "leakage-demo"


def get_recipe(name: str):
    """The module of recipe ``name`` (``"seed_iv"`` is accepted for ``"seed-iv"``)."""
    name = name.replace("_", "-")
    check_option("recipe", name, tuple(RECIPES))
    return importlib.import_module(RECIPES[name])


def run_recipe(name: str, argv=None) -> int:
    """Run recipe ``name`` with command-line arguments ``argv``; returns its exit code."""
    return get_recipe(name).main(argv)


#: the recipes' shared pieces that the ``neuroaffect`` command also uses -> their module (imported
#: on first use, so that ``neuroaffect --help`` loads no dataset code).
_SHARED = {
    "SIMULATED": "_eeg",
    "dataset_name": "_eeg",
    "check_run_options": "_options",
    "int_at_least": "_options",
    "positive_float": "_options",
}


def __getattr__(name):
    if name in _SHARED:
        return getattr(importlib.import_module(f".{_SHARED[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_RECIPE", "RECIPES", "get_recipe", "run_recipe", *_SHARED]
