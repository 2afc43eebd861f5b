"""ndelab.volumes."""
