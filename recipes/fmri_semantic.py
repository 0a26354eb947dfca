"""Run the fmri-semantic recipe: ``python recipes/fmri_semantic.py --help`` (same as ``neuroaffect run fmri-semantic``)."""

from neuroaffect.recipes.fmri_semantic import main

if __name__ == "__main__":
    raise SystemExit(main())
