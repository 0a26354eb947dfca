"""``import neuroaffect`` stays cheap: heavy dependencies load only where they are used."""

import subprocess
import sys

HEAVY = ("torch", "mne", "nilearn", "braindecode", "sklearn", "h5py", "sentence_transformers", "triton", "numba")


def test_importing_the_package_loads_no_heavy_dependency():
    code = ("import sys, neuroaffect, neuroaffect.affect, neuroaffect.estimators; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_de_baseline_never_imports_torch():
    code = ("import sys; from neuroaffect.estimators import make_estimator; make_estimator('de-logreg'); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
