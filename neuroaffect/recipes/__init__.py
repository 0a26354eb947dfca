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


__all__ = ["DEFAULT_RECIPE", "RECIPES", "get_recipe", "run_recipe"]
