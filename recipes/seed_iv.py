"""Run the seed_iv recipe: ``python recipes/seed_iv.py --help`` (same as ``neuroaffect run seed-iv``)."""

from neuroaffect.recipes.seed_iv import main

if __name__ == "__main__":
    raise SystemExit(main())
