"""Run the leakage_demo recipe: ``python recipes/leakage_demo.py --help`` (same as ``neuroaffect run leakage-demo``)."""

from neuroaffect.recipes.leakage_demo import main

if __name__ == "__main__":
    raise SystemExit(main())
