#!/usr/bin/env python3
"""Run the endpoint evaluation from a laptop or a pipeline: `python scripts/evaluate.py --help`.

The logic is the evaluation Lambda's own (``lambdas/evaluate/``); this puts it on the path. With
matplotlib installed (requirements-dev.txt), a local report directory also gets ROC curves and
confusion matrices per variant (``scripts/evaluation_figures.py``), linked from report.md.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "lambdas")]

from evaluate.cli import main  # noqa: E402

if __name__ == "__main__":
    try:
        from scripts.evaluation_figures import draw_figures
    except ImportError:  # a runtime-only environment: reports without images
        print("note: matplotlib is not installed; the report gets no ROC or confusion images", file=sys.stderr)
        sys.exit(main())
    sys.exit(main(draw_figures=draw_figures))
