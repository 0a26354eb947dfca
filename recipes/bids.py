"""Run the bids recipe: ``python recipes/bids.py --help`` (same as ``neuroaffect run bids``)."""

from neuroaffect.recipes.bids import main

if __name__ == "__main__":
    raise SystemExit(main())
