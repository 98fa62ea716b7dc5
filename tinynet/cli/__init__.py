"""The command line of ``examples/alexnet.py``: train, evaluate and predict."""
from __future__ import annotations

import sys

from ..data import DatasetError
from ..train import TrainingDiverged
from .args import UsageError, parse_args


def main(argv=None) -> int:
    """Run the command; user mistakes print one line and return 2 (no traceback)."""
    try:
        args = parse_args(argv)
        if args.predict:
            from .use import run_prediction
            return run_prediction(args)
        if args.evaluate:
            from .use import run_evaluation
            return run_evaluation(args)
        from .fit import run_training
        return run_training(args)
    except (UsageError, DatasetError) as err:
        print(f"alexnet.py: error: {err}", file=sys.stderr)
        return 2
    except TrainingDiverged as err:
        print(f"alexnet.py: stopped: {err} The last checkpoint on disk is from the end of the "
              "previous epoch.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nalexnet.py: interrupted", file=sys.stderr)
        return 130
