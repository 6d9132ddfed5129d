"""Worker process of the study's network training:
``python -m glassdyn.studies.deep_classification.worker TASK.json [TASK.json ...]``.

Runs fold tasks written by :func:`glassdyn.studies.deep_classification.pipeline.deep_classification`
one after the other (:func:`~glassdyn.studies.deep_classification.pipeline.run_task`, skipping those whose
result exists) and exits 0 when every result JSON is written.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m glassdyn.studies.deep_classification.worker TASK.json [TASK.json ...]",
              file=sys.stderr)
        return 2
    from .pipeline import run_task
    for tf in args:
        if Path(json.loads(Path(tf).read_text())["out"]).exists():
            continue
        print(f"task {tf}", flush=True)
        run_task(tf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
