"""ndelab.annotation."""
