"""The readable engine: plain NumPy code of every kernel, the specification of the fast one.

Each module gives, with the same names, arguments and results as its fast twin in
``tinynet/kernels/``, the computation written as a reader expects it: ``im2col`` (im2col and
col2im), ``conv`` (convolution as im2col + GEMM, the reference algorithm of ``Conv2D``),
``pool`` (max-pooling), ``lrn`` (local response normalisation) and ``winograd`` (the
transforms of Winograd's minimal filtering). ``tinynet.set_backend("reference")`` runs the
layers on them; the tests hold the fast kernels to them, never the reverse.
"""
