"""Run the fmri-vad recipe: ``python recipes/fmri_vad.py --help`` (same as ``neuroaffect run fmri-vad``)."""

from neuroaffect.recipes.fmri_vad import main

if __name__ == "__main__":
    raise SystemExit(main())
