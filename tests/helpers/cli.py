"""Helpers shared by several test files.

Moved from tests/test_cli.py, tests/test_cli_pretrained.py, tests/test_cli_runs.py,
tests/test_cli_weights.py.
"""

from tinynet.cli import main


def run(*argv):
    return main([str(a) for a in argv])


TINY = "--image-size 67 --width 0.125 -b 6 -j 0 --no-progress --init he --lr 0.01".split()


SMALL = "--image-size 67 --width 0.125 -j 0 --no-progress".split()
