"""Run the dreamer recipe: ``python recipes/dreamer.py --help`` (same as ``neuroaffect run dreamer``)."""

from neuroaffect.recipes.dreamer import main

if __name__ == "__main__":
    raise SystemExit(main())
