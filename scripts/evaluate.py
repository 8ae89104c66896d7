#!/usr/bin/env python3
"""Run the endpoint evaluation from a laptop or a pipeline: `python scripts/evaluate.py --help`.

The logic is the evaluation Lambda's own (``lambdas/evaluate/``); this puts it on the path.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lambdas"))

from evaluate.cli import main

if __name__ == "__main__":
    sys.exit(main())
