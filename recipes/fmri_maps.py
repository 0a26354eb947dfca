"""Run the fmri_maps recipe: ``python recipes/fmri_maps.py --help`` (same as ``neuroaffect run fmri-maps``)."""

from neuroaffect.recipes.fmri_maps import main

if __name__ == "__main__":
    raise SystemExit(main())
