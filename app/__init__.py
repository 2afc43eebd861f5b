"""ndelab.app."""
