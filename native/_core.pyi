import numpy as np
import numpy.typing as npt

def window(volume: npt.NDArray[np.generic], low: float, high: float) -> npt.NDArray[np.uint8]: ...
