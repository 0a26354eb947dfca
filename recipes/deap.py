"""Run the deap recipe: ``python recipes/deap.py --help`` (same as ``neuroaffect run deap``)."""

from neuroaffect.recipes.deap import main

if __name__ == "__main__":
    raise SystemExit(main())
