"""Winograd F(m x m, r x r) convolution (3x3 and 5x5): against the reference convolution, its
NumPy reference transforms and gradcheck."""

import pytest

from tinynet.layers import Conv2D, conv_algorithms
from tinynet.models import alexnet

from ...helpers.winograd import TILES


def test_tile_side_takes_the_fewest_transformed_elements():
    assert set(TILES) == {(m, r) for r, sides in conv_algorithms.TILES.items() for m in sides}
    side = conv_algorithms.tile_side
    assert side(3, 13, 13) == 5  # 9 tiles of 7x7 = 441 against 16 of 6x6 = 576
    assert side(5, 27, 27) == 3  # 81 tiles of 7x7 = 3969 against 196 of 6x6 = 7056
    assert side(3, 27, 27) == 4  # 49 * 36 = 36 * 49: a tie goes to the smaller tile
    assert side(3, 2, 2) == 2 and side(3, 3, 3) == 4 and side(3, 5, 20) == 5
    assert side(5, 2, 2) == 2 and side(5, 3, 3) == 3


@pytest.mark.parametrize("groups", [1, 2])
def test_auto_picks_winograd_for_conv3_to_conv5_only(groups):
    model = alexnet(groups=groups, width=0.25)  # conv2: 24 or 12 channels per group
    sides = {"conv1": 55, "conv2": 27, "conv3": 13, "conv4": 13, "conv5": 13}
    assert all(model[name].algorithm == "auto" for name in sides)
    for batch in (8, 64, 128):
        chosen = {
            name: model[name].uses_winograd(batch, side, side) for name, side in sides.items()
        }
        assert chosen == dict(conv1=False, conv2=False, conv3=True, conv4=True, conv5=True)
    # a single image, or maps below 4x4, are faster by im2col
    assert not any(model[name].uses_winograd(1, 13, 13) for name in sides)
    assert not model["conv3"].uses_winograd(128, 3, 3)


@pytest.mark.parametrize("groups", [1, 2])
def test_auto_picks_winograd_for_full_width_conv2_only(groups):
    conv2 = Conv2D(96, 256, 5, padding=2, groups=groups)  # full width: 96 or 48 per group
    assert [conv2.uses_winograd(n, 27, 27) for n in (8, 64, 128)] == [True] * 3
    assert not conv2.uses_winograd(1, 27, 27)
    narrow = alexnet(groups=1, width=0.25)["conv2"]  # 24 channels per group: im2col
    assert narrow.kernel_size == (5, 5) and not narrow.uses_winograd(128, 27, 27)
