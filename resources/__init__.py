"""ndelab.resources."""
