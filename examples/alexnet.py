#!/usr/bin/env python
"""Train, evaluate and use AlexNet on an ImageNet-style folder with tinynet.

    python examples/alexnet.py --demo                      # no data needed: a 3-minute demo
    python examples/alexnet.py --data ./imagenet           # train/ and val/ with class folders
    python examples/alexnet.py --data ./imagenet -e --resume runs/alexnet/best.npz
    python examples/alexnet.py --predict cat.jpg --resume runs/alexnet/best.npz

Run with --help for every option. The logic lives in ``tinynet.cli``.
"""

import sys

try:
    from tinynet.cli import main
    from tinynet.perf.memory import retain_freed_memory
except ValueError as err:  # a bad $TINYNET_BACKEND, refused when tinynet is imported
    print(f"alexnet.py: error: {err}", file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    retain_freed_memory()  # reuse each step's large arrays instead of re-faulting them
    sys.exit(main())
