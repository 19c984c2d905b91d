"""The math of the catalog losses as pure functions of tensors (no modules, no config).

Each function documents its formula and MMF's conventions (scaling, eps values) and is free of
host-device synchronisation, so it runs under `torch.compile(fullgraph=True)`.
"""
