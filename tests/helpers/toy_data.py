"""A tiny generated image-classification problem for training tests."""

import numpy as np


def blobs(num_per_class, size=67, num_classes=4, seed=0):
    """(N, 3, size, size) float32 noise with one bright square blob whose colour is the class."""
    rng = np.random.default_rng(seed)
    colours = np.array(
        [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=np.float32
    )[:num_classes]
    n = num_per_class * num_classes
    images = rng.normal(0, 0.3, (n, 3, size, size)).astype(np.float32)
    labels = np.repeat(np.arange(num_classes), num_per_class)
    for i, k in enumerate(labels):
        r = int(rng.integers(8, 14))
        y, x = rng.integers(r, size - r, 2)
        images[i, :, y - r : y + r, x - r : x + r] += 2 * colours[k][:, None, None]
    return images, labels


COLOURS = {"blue": (20, 40, 230), "green": (30, 200, 40), "red": (220, 30, 30)}


def colour_image(rgb, rng, size=40):
    """A noisy square PIL image of one colour."""
    from PIL import Image

    noise = rng.normal(0, 20, (size, size, 3))
    return Image.fromarray(np.clip(np.array(rgb) + noise, 0, 255).astype(np.uint8))


def write_colour_folders(root, counts=(("train", 12), ("val", 4)), seed=0):
    """root/train/<colour>/*.png and root/val/<colour>/*.png: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    for split, count in counts:
        for name, rgb in COLOURS.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                colour_image(rgb, rng).save(folder / f"{i}.png")
    return root
