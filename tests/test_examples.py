"""The examples gallery (examples/*.py) runs, as a user would run it; recipes/ stays thin entry points.

Each script runs in a subprocess with a timeout, ``NEUROAFFECT_CACHE`` and ``TMPDIR`` in the test's
temporary folder. A script that needs data outside the repository says so in a ``# needs: PATH``
line (PATH relative to the project root); it is skipped, with the reason, when PATH is absent.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from neuroaffect.recipes import RECIPES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
#: data an example may need -> where the tests find it (NEUROAFFECT_EEGMAT as in test_io_eegmat.py).
DATA = {"../shared/data/eegmat": Path(os.environ.get("NEUROAFFECT_EEGMAT", ROOT.parent / "shared" / "data" / "eegmat"))}
TIMEOUT = 180  # seconds; each example takes under 15 s on 2 cores


def _needs(script: Path) -> list[str]:
    return re.findall(r"^# needs: (\S+)$", script.read_text(), flags=re.MULTILINE)


def test_the_gallery_is_there_and_listed():
    assert len(EXAMPLES) >= 6
    listed = (ROOT / "examples" / "README.md").read_text()
    for script in EXAMPLES:
        assert f"({script.name})" in listed, f"{script.name} is not listed in examples/README.md"
        assert len(script.read_text().splitlines()) <= 60, f"{script.name}: keep examples under 60 lines"
        assert set(_needs(script)) <= set(DATA), f"{script.name}: unknown '# needs:' path"


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    args = []
    for need in _needs(script):
        if not DATA[need].is_dir():
            pytest.skip(f"{script.name} needs {need}, not found at {DATA[need]}")
        args.append(str(DATA[need]))
    env = {**os.environ, "NEUROAFFECT_CACHE": str(tmp_path / "cache"), "TMPDIR": str(tmp_path),
           "MPLBACKEND": "Agg"}
    try:
        done = subprocess.run([sys.executable, str(script), *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{script.name} ran longer than {TIMEOUT} s")
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "Report: " in done.stdout
    report = Path(done.stdout.rsplit("Report: ", 1)[1].split()[0])
    assert report.is_file() and tmp_path in report.parents  # written to the temporary folder
    assert not (ROOT / "examples" / "report").exists()


def test_recipes_folder_is_thin_entry_points():
    """recipes/<name>.py: one per registered recipe, only calling its neuroaffect.recipes module."""
    scripts = {p.stem for p in (ROOT / "recipes").glob("*.py")}
    assert scripts == {name.replace("-", "_") for name in RECIPES}
    for name, module in RECIPES.items():
        lines = [line for line in (ROOT / "recipes" / f"{name.replace('-', '_')}.py").read_text().splitlines()
                 if line.strip() and not line.startswith('"""')]
        assert lines == [f"from {module} import main", 'if __name__ == "__main__":',
                         "    raise SystemExit(main())"], name
