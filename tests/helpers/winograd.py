"""Winograd F(m x m, r x r) convolution (3x3 and 5x5): against the reference convolution, its
NumPy reference transforms and gradcheck."""

TILES = [(2, 3), (4, 3), (5, 3), (2, 5), (3, 5)]  # (m, r) of F(m x m, r x r)
