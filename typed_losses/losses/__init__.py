"""The built-in loss catalog: MMF's losses under MMF's registry names, typed.

Importing this package registers every catalog loss; :data:`typed_losses.REGISTRY` imports it on the
first lookup through the ``typed_losses.losses`` entry point. Each family lives in its own module.
"""

# -- classification, binary and soft-label families ---------------------------------------------------
from typed_losses.losses.classification import CrossEntropyLoss, CrossEntropyParams
from typed_losses.losses.soft_labels import BinaryCrossEntropyKlLoss, BinaryCrossEntropyKlParams

# -- retrieval / metric-learning families and `multi` -------------------------------------------------

__all__ = [
    "BinaryCrossEntropyKlLoss",
    "BinaryCrossEntropyKlParams",
    "CrossEntropyLoss",
    "CrossEntropyParams",
]
