"""Run the eegmat recipe: ``python recipes/eegmat.py --help`` (same as ``neuroaffect run eegmat``)."""

from neuroaffect.recipes.eegmat import main

if __name__ == "__main__":
    raise SystemExit(main())
