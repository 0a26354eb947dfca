"""Recipe: leakage-free subject-dependent decoding on DEAP (or a simulated stand-in).

Run ``neuroaffect run deap --data-dir DIR`` (see ``--help``); without ``--data-dir`` a small
simulated dataset in the same file format is used. Documented in docs/recipes/deap.md.
"""

from __future__ import annotations

from ._eeg import run


def main(argv=None) -> int:
    """Read DEAP, compute BDE tokens, cross-validate, write the report (returns the exit code)."""
    return run("deap", argv, prog="neuroaffect run deap",
               description="Leakage-free decoding of affect from DEAP EEG.")


if __name__ == "__main__":
    raise SystemExit(main())
