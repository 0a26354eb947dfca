"""Print a pip constraints file pinning each core dependency to its declared lower bound.

CI installs with it (``pip install -c FILE -e ".[test]"``) and runs the suite, so the lower bounds
in pyproject.toml stay true. A dependency declared without a lower bound is an error here.
"""

import re
import sys
import tomllib
from pathlib import Path

pyproject = Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml")
for requirement in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(,.*)?", requirement)
    if match is None:
        sys.exit(f"{pyproject}: dependency {requirement!r} has no '>=' lower bound to test.")
    print(f"{match[1]}=={match[3]}")
