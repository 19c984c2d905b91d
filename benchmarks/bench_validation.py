"""Config validation time for 1, 10, 100 and 1000 ``losses`` entries.

Three inputs: ``check_losses`` on plain Python data (a list of dicts), on the same entries as a config
loaded with ``load_yaml_text`` (OmegaConf nodes with positions, as MMF and Hydra hand them over), and end to
end: ``load_yaml_text`` + ``LossCollection.from_config`` on yaml text (parsed, checked, modules built). The entries cycle through
losses with and without params and weights, each with a distinct name. Every input goes through the one checker
(plain data becomes OmegaConf nodes first). Targets: a typical config (up to 10 entries) checked in < 10 ms; the
time per entry at 1000 entries within 1.5x of that at 100 (linear).
Run: ``python benchmarks/bench_validation.py [--quick]``.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from _timing import Section, compare, fmt_ms, machine_line, markdown_table, parse_quick, setup_threads

from typed_losses import LossCollection, check_losses, load_yaml_text

TYPICAL_S = 0.010
LINEAR = 1.5
_TEMPLATES: list[dict[str, Any]] = [
    {"type": "logit_bce"},
    {"type": "bce_kl", "weight": 0.5, "params": {"weight_softmax": 0.5}},
    {"type": "cross_entropy", "params": {"label_smoothing": 0.1, "reduction": "mean"}},
    {"type": "ms_loss", "params": {"alpha": 50.0, "beta": 2.0, "margin": 0.5, "hard_mining": True}},
    {"type": "mse", "weight": 2.0},
    {"type": "soft_label_cross_entropy", "params": {"ignore_index": -1, "normalize_targets": False}},
    {"type": "in_batch_hinge", "params": {"margin": 0.2, "hard": True}},
    {
        "type": "multi",
        "params": [{"type": "logit_bce", "weight": 0.3}, {"type": "attention_supervision", "weight": 0.7}],
    },
]


def entries(n: int) -> list[dict[str, Any]]:
    return [{**copy.deepcopy(_TEMPLATES[i % len(_TEMPLATES)]), "name": f"term_{i}"} for i in range(n)]


def run(quick: bool) -> Section:
    setup_threads()
    check_losses(entries(8))  # load the catalog and warm the caches once, as any real run has
    rows = []
    summary = []
    per_entry: dict[int, float] = {}
    for n in (1, 10, 100, 1000):
        data = entries(n)
        text = yaml.safe_dump({"model_config": {"m": {"losses": data}}}, sort_keys=False)
        loaded = load_yaml_text(text).model_config.m.losses

        def checked(loaded: Any = loaded) -> None:
            check_losses(loaded)

        def plain(data: list[dict[str, Any]] = data) -> None:
            check_losses(data)

        def from_yaml(text: str = text) -> None:
            LossCollection.from_config(load_yaml_text(text).model_config.m.losses)

        repeats = (1 if n >= 100 else 3) if quick else (5 if n >= 1000 else 11)
        number = 1 if n >= 100 else (3 if quick else 20)
        times = compare(
            {"loaded": checked, "plain": plain, "yaml": from_yaml},
            repeats=repeats,
            number=number,
            warmup=1,
            disable_gc=False,
        )
        worst = max(times["loaded"], times["plain"])
        per_entry[n] = worst / n
        if n == 10:
            verdict = "ok" if worst < TYPICAL_S else f"MISSED (target < {fmt_ms(TYPICAL_S)})"
        elif n == 1000:
            ratio = per_entry[1000] / per_entry[100]
            verdict = f"{ratio:.2f}x the time per entry at 100: " + ("ok" if ratio <= LINEAR else "MISSED")
        else:
            verdict = ""
        rows.append([str(n), fmt_ms(times["loaded"]), fmt_ms(times["plain"]), fmt_ms(times["yaml"]), verdict])
        if n == 10:
            summary.append(
                ["check a typical `losses` config (10 entries; plain data or loaded)", fmt_ms(worst), "< 10 ms"]
            )
        print(
            f"{n:5d} entries: loaded {fmt_ms(times['loaded'])}, plain {fmt_ms(times['plain'])}, "
            f"yaml + from_config {fmt_ms(times['yaml'])}"
        )
        if n == 1000:
            summary.append(
                [
                    "check 1000 `losses` entries (plain data or loaded): linear",
                    f"{fmt_ms(worst)} ({per_entry[1000] * 1e6:.0f} us/entry; {per_entry[100] * 1e6:.0f} at 100)",
                    f"<= {LINEAR}x the time per entry at 100",
                ]
            )
            summary.append(["parse, check and build 1000 entries from yaml text", fmt_ms(times["yaml"]), "-"])
    table = markdown_table(
        [
            "entries",
            "check_losses (loaded config)",
            "check_losses (plain Python data)",
            "load_yaml_text + from_config",
            "target",
        ],
        rows,
    )
    intro = (
        "Checking a `losses` list of N entries (`benchmarks/bench_validation.py`): `check_losses` on a config "
        "already loaded with `load_yaml_text` (OmegaConf nodes, as MMF and Hydra pass them), on the same entries "
        "as plain Python data (which becomes OmegaConf nodes and takes the same checker), and end to end: "
        "yaml text parsed with positions into OmegaConf, checked and built into a `LossCollection`. Building the "
        "OmegaConf nodes (about 0.1 ms a node, 6 nodes an entry here) is most of the last column. "
        f"Targets: 10 entries < {fmt_ms(TYPICAL_S)}; linear up to 1000 entries."
    )
    return Section("Config validation", intro, table, summary)


if __name__ == "__main__":
    section = run(parse_quick(__doc__ or ""))
    print(machine_line())
    print(section.markdown())
