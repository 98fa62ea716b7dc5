"""The shared scratch buffers (tinynet.perf.workspace) and the chunking of a batch."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tinynet.perf import workspace


def test_arrays_are_grow_only_buffers_by_position_and_dtype():
    a, b = workspace.arrays(np.float32, (4, 5), (3,))
    assert a.shape == (4, 5) and a.dtype == np.float32 and a.flags.c_contiguous
    assert b.shape == (3,) and not np.shares_memory(a, b)  # distinct positions, distinct memory
    a[...] = 3.0
    (smaller,) = workspace.arrays(np.float32, (2, 3))
    assert np.shares_memory(a, smaller)  # smaller requests reuse the buffer at that position
    assert not np.shares_memory(a, workspace.arrays(np.float64, (4, 5))[0])
    (larger,) = workspace.arrays(np.float32, (40, 50))  # larger: a new buffer
    larger[...] = 1.0
    assert larger.sum() == 2000 and larger.flags.writeable
    assert workspace.arrays(np.float32, (0, 7))[0].shape == (0, 7)


@given(st.integers(1, 500), st.integers(1, 10**6), st.integers(1, 10**7))
def test_images_per_chunk_uses_the_fewest_chunks_and_spreads_them(n, per_image, budget):
    step = workspace.images_per_chunk(n, per_image, budget)
    most = max(1, min(n, budget // per_image))  # the most images that fit (at least one)
    assert 1 <= step <= most
    assert -(-n // step) == -(-n // most)  # no more chunks than needed
    assert n - (-(-n // step) - 1) * step > 0  # the last chunk is not empty


def test_a_batch_of_128_splits_into_equal_chunks():
    assert workspace.images_per_chunk(128, 677_000, 64 * 2**20) == 64  # not 99 and 29
    assert workspace.images_per_chunk(64, 1, 2**30) == 64
    assert workspace.images_per_chunk(3, 10**9, 1) == 1
