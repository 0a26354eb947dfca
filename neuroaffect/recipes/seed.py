"""Recipe: leakage-free subject-dependent decoding on SEED (or a simulated stand-in).

Run ``neuroaffect run seed --data-dir DIR`` (see ``--help``); without ``--data-dir`` a small
simulated dataset in the same file format is used. Documented in docs/recipes/seed.md.
"""

from __future__ import annotations

from ._eeg import run


def main(argv=None) -> int:
    """Read SEED, compute BDE tokens, cross-validate, write the report (returns the exit code)."""
    return run("seed", argv, prog="neuroaffect run seed",
               description="Leakage-free decoding of affect from SEED EEG.")


if __name__ == "__main__":
    raise SystemExit(main())
