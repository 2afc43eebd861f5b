"""Train the default pre-label networks on synthetic phantoms.

- ``config``: :class:`TrainConfig`, the settings of one run, and the seed ranges.
- ``sampling``: the training phantom distribution and random crops around defects.
- ``loop``: the loss, the optimiser loop and ``train_weights`` (saves weights.pt).
- ``calibration``: Platt scaling of call scores and their reliability.
- ``card``: model.json, the model card and the command that reproduces a model.
- ``recipe``: ``train_default`` and ``finalize_model``, the shipped models' recipe.

``ndelab train`` (ndelab.cli.models) is the command line over ``train_default``.
"""

from ndelab.inference.training.calibration import calibrate, reliability
from ndelab.inference.training.card import model_card, reproduce_command, write_model_json
from ndelab.inference.training.config import (
    CALIBRATION_SEEDS,
    DEFAULT_ARCH,
    DEFAULT_ARCH_2D,
    EVAL_SEED_START,
    TRAIN_SEEDS,
    TrainConfig,
)
from ndelab.inference.training.loop import dice_ce_loss, train_network, train_weights
from ndelab.inference.training.recipe import (
    CLASSES,
    DEFAULT_NAME,
    DEFAULT_NAME_2D,
    DEFAULT_VERSION,
    finalize_model,
    train_default,
)
from ndelab.inference.training.sampling import (
    PARTS,
    CropSampler,
    Sample,
    random_ct_params,
    random_radiograph_params,
    sample_from_phantom,
)

__all__ = [
    "CALIBRATION_SEEDS",
    "CLASSES",
    "DEFAULT_ARCH",
    "DEFAULT_ARCH_2D",
    "DEFAULT_NAME",
    "DEFAULT_NAME_2D",
    "DEFAULT_VERSION",
    "EVAL_SEED_START",
    "PARTS",
    "TRAIN_SEEDS",
    "CropSampler",
    "Sample",
    "TrainConfig",
    "calibrate",
    "dice_ce_loss",
    "finalize_model",
    "model_card",
    "random_ct_params",
    "random_radiograph_params",
    "reliability",
    "reproduce_command",
    "sample_from_phantom",
    "train_default",
    "train_network",
    "train_weights",
    "write_model_json",
]
