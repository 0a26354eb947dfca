"""Run the seed recipe: ``python recipes/seed.py --help`` (same as ``neuroaffect run seed``)."""

from neuroaffect.recipes.seed import main

if __name__ == "__main__":
    raise SystemExit(main())
