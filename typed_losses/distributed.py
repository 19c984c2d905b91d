"""Checking that every process of a distributed job built the same losses.

Each rank builds its [`LossCollection`][typed_losses.LossCollection] from its own config; a rank-dependent override
(an environment variable, a stale file on one node) would silently train different ranks on different
objectives, since DDP broadcasts buffers but not params. Call [`check_same_config()`][typed_losses.distributed.check_same_config] once after building:

```python
criterion = LossCollection.from_config(cfg.losses)
check_same_config(criterion)  # raises LossConfigError on every rank if any rank differs
```
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from typed_losses.config.diff import differences
from typed_losses.errors import ConfigIssue, LossConfigError

if TYPE_CHECKING:
    from torch.distributed import ProcessGroup

    from typed_losses.collection import LossCollection

__all__ = ["check_same_config", "config_digest"]


def config_digest(collection: LossCollection) -> str:
    """SHA-256 (hex) of the canonical JSON of `collection.to_config()`: equal configs, equal digests."""
    text = json.dumps(collection.to_config(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_same_config(collection: LossCollection, group: ProcessGroup | None = None) -> str:
    """Raise [`LossConfigError`][typed_losses.LossConfigError] on every rank of `group` unless all ranks built the same config.

    One `all_gather_object` of the 64-character digests; only when they differ are the configs
    gathered, to name what differs. Without an initialised process group this only returns the digest.
    The issues name each differing rank (ranks of `group`, as global ranks) and the paths where its
    config differs from the lowest rank's.
    """
    import torch.distributed as dist

    digest = config_digest(collection)
    if not (dist.is_available() and dist.is_initialized()):
        return digest
    world = dist.get_world_size(group)
    ranks = list(range(world)) if group is None else dist.get_process_group_ranks(group)
    digests: list[Any] = [None] * world
    dist.all_gather_object(digests, digest, group=group)
    if all(d == digests[0] for d in digests):
        return digest
    configs: list[Any] = [None] * world
    dist.all_gather_object(configs, collection.to_config(), group=group)
    issues: list[ConfigIssue] = []
    for index in range(1, world):
        if digests[index] == digests[0]:
            continue
        first, other = ranks[0], ranks[index]
        issues.append(
            ConfigIssue(
                "losses",
                f"rank {other} built a different loss config than rank {first} "
                f"(digest {digests[index][:12]} != {digests[0][:12]})",
                hint="every rank must build its losses from the same config",
            )
        )
        issues.extend(
            ConfigIssue(d.path, f"rank {first} has {d.first}, rank {other} has {d.second}")
            for d in differences(configs[0], configs[index])
        )
    raise LossConfigError(issues)
