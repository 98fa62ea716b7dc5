"""Performance plumbing, apart from the maths: thread pools, the BLAS door, scratch buffers,
the allocator and the step profiler. Nothing here changes a result, only how fast it comes."""
