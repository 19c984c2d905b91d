"""The built-in loss catalog: MMF's losses under MMF's registry names, typed.

Importing this package registers every catalog loss; [`typed_losses.REGISTRY`][typed_losses.REGISTRY] imports it on the
first lookup through the `typed_losses.losses` entry point. Each family lives in its own module, and the
imports below are the catalog's manifest: a module under `typed_losses/losses/` that defines a loss but is not
imported here would never register, so `tests/losses/test_catalog.py` fails for it (and for a loss class
without `@register_loss`).
"""

# -- classification, binary and soft-label families ---------------------------------------------------
from typed_losses.losses.binary import (
    AttentionSupervisionLoss,
    AttentionSupervisionParams,
    BinaryCrossEntropyLoss,
    BinaryCrossEntropyParams,
    LogitBinaryCrossEntropyLoss,
    LogitBinaryCrossEntropyParams,
    M4CDecodingBCEWithMaskLoss,
    M4CDecodingBCEWithMaskParams,
    TripleLogitBinaryCrossEntropyLoss,
    TripleLogitBinaryCrossEntropyParams,
)
from typed_losses.losses.classification import (
    CaptionCrossEntropyLoss,
    CaptionCrossEntropyParams,
    CrossEntropyLoss,
    CrossEntropyParams,
    NLLLoss,
    NLLParams,
)

# -- retrieval / metric-learning families and `multi` -------------------------------------------------
from typed_losses.losses.multi import MultiLoss, MultiParams
from typed_losses.losses.regression import CosineEmbeddingLoss, CosineEmbeddingParams, MSELoss, MSEParams
from typed_losses.losses.retrieval import (
    ContrastiveLoss,
    ContrastiveParams,
    InBatchHingeLoss,
    InBatchHingeParams,
    MultiSimilarityLoss,
    MultiSimilarityParams,
    RefinerContrastiveLoss,
    RefinerContrastiveParams,
    RefinerMultiSimilarityLoss,
    RefinerMultiSimilarityParams,
)
from typed_losses.losses.soft_labels import (
    BinaryCrossEntropyKlCombinedLoss,
    BinaryCrossEntropyKlCombinedParams,
    BinaryCrossEntropyKlLoss,
    BinaryCrossEntropyKlParams,
    LabelSmoothingCrossEntropyLoss,
    LabelSmoothingCrossEntropyParams,
    SoftLabelCrossEntropyLoss,
    SoftLabelCrossEntropyParams,
    SoftmaxKlDivLoss,
    SoftmaxKlDivParams,
    WeightedSoftmaxLoss,
    WeightedSoftmaxParams,
    WrongLoss,
    WrongParams,
)

__all__ = [
    "AttentionSupervisionLoss",
    "AttentionSupervisionParams",
    "BinaryCrossEntropyKlCombinedLoss",
    "BinaryCrossEntropyKlCombinedParams",
    "BinaryCrossEntropyKlLoss",
    "BinaryCrossEntropyKlParams",
    "BinaryCrossEntropyLoss",
    "BinaryCrossEntropyParams",
    "CaptionCrossEntropyLoss",
    "CaptionCrossEntropyParams",
    "ContrastiveLoss",
    "ContrastiveParams",
    "CosineEmbeddingLoss",
    "CosineEmbeddingParams",
    "CrossEntropyLoss",
    "CrossEntropyParams",
    "InBatchHingeLoss",
    "InBatchHingeParams",
    "LabelSmoothingCrossEntropyLoss",
    "LabelSmoothingCrossEntropyParams",
    "LogitBinaryCrossEntropyLoss",
    "LogitBinaryCrossEntropyParams",
    "M4CDecodingBCEWithMaskLoss",
    "M4CDecodingBCEWithMaskParams",
    "MSELoss",
    "MSEParams",
    "MultiLoss",
    "MultiParams",
    "MultiSimilarityLoss",
    "MultiSimilarityParams",
    "NLLLoss",
    "NLLParams",
    "RefinerContrastiveLoss",
    "RefinerContrastiveParams",
    "RefinerMultiSimilarityLoss",
    "RefinerMultiSimilarityParams",
    "SoftLabelCrossEntropyLoss",
    "SoftLabelCrossEntropyParams",
    "SoftmaxKlDivLoss",
    "SoftmaxKlDivParams",
    "TripleLogitBinaryCrossEntropyLoss",
    "TripleLogitBinaryCrossEntropyParams",
    "WeightedSoftmaxLoss",
    "WeightedSoftmaxParams",
    "WrongLoss",
    "WrongParams",
]
