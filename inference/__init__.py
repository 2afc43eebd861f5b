"""ndelab.inference."""
