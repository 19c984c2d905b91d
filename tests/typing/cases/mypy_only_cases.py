"""Type tests that only mypy passes, until ``LossCollection``'s items are typed with ``ParamsInstance``.

``LossCollection.__init__`` still takes ``attrs.AttrsInstance``, which attrs' stubs make an empty protocol
for pyright. tests/typing/pyrightconfig.json leaves this file out. Checked by tests/typing/test_types.py.
"""

from __future__ import annotations

from typed_losses import LossCollection
from typed_losses.losses import CrossEntropyLoss

# Neither params nor a Term: a loss name, a config entry, a loss class.
LossCollection(["cross_entropy"])  # type: ignore[list-item]
LossCollection([{"type": "cross_entropy"}])  # type: ignore[list-item]
LossCollection([CrossEntropyLoss])  # type: ignore[list-item]
