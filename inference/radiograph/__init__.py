"""Classical radiograph (2D) detection and its ideal-observer yardstick.

- ``detector``: the NDE-style detector ("ndelab-xray-classical"): a background that follows
  the part's straight thickness steps, noise normalised to the signal level, a matched-filter
  bank for blurred pores, hysteresis, and a size/shape classification.
- ``ideal``: what an ideal observer (known signal, known background, the generator's noise
  model) reaches on a phantom, defect by defect.
"""
