"""ndelab.annotation.export: reviewed labels as training data sets, with provenance."""
