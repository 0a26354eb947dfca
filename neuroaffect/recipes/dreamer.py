"""Recipe: leakage-free subject-dependent decoding on DREAMER (or a simulated stand-in).

Run ``neuroaffect run dreamer --data-dir DIR`` (see ``--help``); without ``--data-dir`` a small
simulated dataset in the same file format is used. Documented in docs/recipes/dreamer.md.
"""

from __future__ import annotations

from ._eeg import run


def main(argv=None) -> int:
    """Read DREAMER, compute BDE tokens, cross-validate, write the report (returns the exit code)."""
    return run("dreamer", argv, prog="neuroaffect run dreamer",
               description="Leakage-free decoding of affect from DREAMER EEG.")


if __name__ == "__main__":
    raise SystemExit(main())
