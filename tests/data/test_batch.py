"""DataLoader: batching, reproducibility, indices_fn, mid-epoch resume (set_epoch's start)
and bad-file skipping. Worker-process behaviour is in test_data_workers.py."""

from tinynet.data import DataLoader, EvalTransform
from tinynet.data.batch import split_batches

from ..helpers.loader import no_leftover_children  # noqa: F401  (autouse: no test leaves a worker behind)


def test_len_matches_batches_with_indices_fn(ds):
    for fn, drop in [
        (None, False),
        (None, True),
        (lambda p: p[::3], False),
        (lambda p: p[::3], True),
        (lambda p: p[:0], False),
    ]:
        dl = DataLoader(ds, EvalTransform(24), 5, workers=0, indices_fn=fn, drop_last=drop)
        assert len(dl) == len(split_batches(dl.indices(), 5, drop))
