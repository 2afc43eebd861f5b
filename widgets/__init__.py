"""ndelab.widgets."""
