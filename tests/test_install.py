"""The install's declared dependencies and CI's helpers (.ci/) agree with each other and the README."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements):
    return {re.match(r"[A-Za-z0-9_.\-]+", r)[0].lower() for r in requirements}


def test_core_install_has_no_torch_ceiling_and_no_braindecode():
    core = PROJECT["dependencies"]
    assert not _names(core) & {"braindecode", "torchaudio"}
    (torch,) = [r for r in core if re.match(r"torch\b", r)]
    assert re.fullmatch(r"torch>=[0-9.]+", torch), torch


def test_braindecode_extra_pins_one_torch_torchaudio_pair():
    extra = PROJECT["optional-dependencies"]["braindecode"]
    pins = {r.split("==")[0]: r.split("==")[1] for r in extra if "==" in r}
    assert set(pins) == {"torch", "torchaudio"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", pins["torch"]) and pins["torch"] == pins["torchaudio"]


def test_dev_extra_is_braindecode_text_and_test():
    extras = PROJECT["optional-dependencies"]
    assert sorted(extras["dev"]) == sorted(extras["braindecode"] + extras["text"] + extras["test"])


def test_minimum_versions_pin_every_core_dependency(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / ".ci/minimum_versions.py"), str(ROOT / "pyproject.toml")],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert _names(out) == _names(PROJECT["dependencies"])
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.]*", line) for line in out)
    bad = tmp_path / "pyproject.toml"
    bad.write_text('[project]\ndependencies = ["numpy"]\n')
    failed = subprocess.run([sys.executable, str(ROOT / ".ci/minimum_versions.py"), str(bad)], capture_output=True, text=True)
    assert failed.returncode != 0 and "'numpy' has no '>=' lower bound" in failed.stderr


def test_readme_quick_start_is_two_install_commands(tmp_path):
    script = str(ROOT / ".ci/quickstart.py")
    out = subprocess.run([sys.executable, script, str(ROOT / "README.md")], capture_output=True, text=True, check=True)
    install, tests = out.stdout.splitlines()
    assert install.startswith("pip install -e . && neuroaffect run")
    assert tests.startswith('pip install -e ".[dev]" && ') and "pytest" in tests
    bad = tmp_path / "README.md"
    bad.write_text("## Quick start\n\n```bash\npip install -e .\n```\n\n## Next\n")
    assert subprocess.run([sys.executable, script, str(bad)], capture_output=True).returncode != 0


def test_braindecode_estimator_without_the_extra_names_it(monkeypatch):
    from neuroaffect.estimators import BraindecodeClassifier

    monkeypatch.setitem(sys.modules, "braindecode", None)  # import braindecode -> ImportError
    X, y = np.zeros((8, 4, 5), np.float32), np.arange(8) % 2
    with pytest.raises(ImportError, match=r"BraindecodeClassifier\(model='dgcnn'\) needs braindecode.*neuroaffect\[braindecode\]"):
        BraindecodeClassifier("dgcnn", ch_names=["Fp1", "Fp2", "O1", "O2"]).fit(X, y)


def _layer_modules():
    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    return [[m.strip() for m in re.split(r"[:|]", layer)] for layer in contract["layers"]]


def test_every_module_of_the_package_is_in_a_layer():
    """A new subpackage or top-level module must be placed in the layer contract (docs/architecture.md)."""
    layered = {m for layer in _layer_modules() for m in layer}
    package = ROOT / "neuroaffect"
    modules = {p.stem if p.is_file() else p.name for p in package.iterdir()
               if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()}
    affect = {f"affect.{p.stem}" for p in (package / "affect").glob("*.py") if p.stem != "__init__"}
    missing = sorted((modules - {"affect"} | affect) - layered)
    assert not missing, f"not in any layer of [tool.importlinter] in pyproject.toml: {missing}"
    assert "lint-imports" in (ROOT / ".ci" / "run").read_text()
    assert (ROOT / "docs" / "architecture.md").is_file()


#: The longest module the package allows (issue 14): a module is read in one sitting; split it by concept.
MAX_MODULE_LINES = 600


def test_no_module_is_over_600_lines():
    long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / "neuroaffect").rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split each into modules by concept): {long}"


def test_imports_keep_the_layer_contract():
    pytest.importorskip("importlinter")
    result = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                             "lint_imports_command()"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
