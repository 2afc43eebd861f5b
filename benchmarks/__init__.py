"""ndelab.benchmarks."""
