"""Recipe: leakage-free subject-dependent decoding on SEED-IV (or a simulated stand-in).

Run ``neuroaffect run seed-iv --data-dir DIR`` (see ``--help``); without ``--data-dir`` a small
simulated dataset in the same file format is used. Documented in docs/recipes/seed_iv.md.
"""

from __future__ import annotations

from ._eeg import run


def main(argv=None) -> int:
    """Read SEED-IV, compute BDE tokens, cross-validate, write the report (returns the exit code)."""
    return run("seed_iv", argv, prog="neuroaffect run seed-iv",
               description="Leakage-free decoding of affect from SEED-IV EEG.")


if __name__ == "__main__":
    raise SystemExit(main())
