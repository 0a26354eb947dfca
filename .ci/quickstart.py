"""Print the README quick start's two commands, one per line (``.ci/run`` runs them as written).

Each must be ``INSTALL && RUN``; anything else is an error, so the README and CI cannot drift apart.
"""

import re
import sys
from pathlib import Path

readme = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
section = re.search(r"^## Quick start\n(.*?)(?=^## )", readme.read_text(), re.M | re.S)
block = section and re.search(r"```bash\n(.*?)```", section[1], re.S)
commands = [line.strip() for line in block[1].splitlines() if line.strip()] if block else []
if len(commands) != 2 or not all(" && " in c and c.startswith("pip install") for c in commands):
    sys.exit(f"{readme}: the quick start must be one ```bash block of two 'pip install ... && ...' commands, got {commands}")
print("\n".join(commands))
