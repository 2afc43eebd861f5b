"""Readers, one module per file format; ndelab.volumes.io picks among them."""
