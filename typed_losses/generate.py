"""Regenerate every committed artifact that is derived from the registry, with one command:

```bash
python -m typed_losses.generate          # write them
python -m typed_losses.generate --check  # exit 1 and name the stale ones (what the tests run)
```

Each artifact is a path relative to the repository root and a function producing its text.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from typed_losses.config.check import check_params_data
from typed_losses.introspect import params_info
from typed_losses.loss import describe_inputs
from typed_losses.registry import REGISTRY, LossSpec, Registry
from typed_losses.schema import schema_text

__all__ = [
    "ARTIFACTS",
    "builders_module",
    "catalog_registry",
    "catalog_schema_text",
    "demo_config",
    "losses_reference",
    "main",
    "stale",
]

ROOT = Path(__file__).resolve().parent.parent


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


DIFFERS = "Differs from MMF"

#: The loss reference's families, in page order: catalog module -> section title. A catalog module not
#: listed here gets a section of its own, titled by its module name, after these.
FAMILIES = {
    "typed_losses.losses.binary": "Binary",
    "typed_losses.losses.soft_labels": "Soft labels",
    "typed_losses.losses.classification": "Classification",
    "typed_losses.losses.regression": "Regression",
    "typed_losses.losses.retrieval": "Retrieval",
    "typed_losses.losses.multi": "Composite",
}


def _blocks(text: str) -> list[str]:
    """The paragraphs of a docstring (dedented), kept as written: lists, code and `$$` math stay blocks."""
    blocks: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in inspect.cleandoc(text).splitlines():
        marker = line.strip()
        if fence is None and (marker.startswith("```") or marker == "$$"):
            fence = "```" if marker.startswith("```") else "$$"
        elif fence is not None and marker == fence:
            fence = None
        if not line.strip() and fence is None:
            if current:
                blocks.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _differs(text: str) -> list[str]:
    """The `Differs from MMF` blocks of a docstring: the paragraph and the list that follows it."""
    out: list[str] = []
    taking = False
    for block in _blocks(text):
        if block.startswith(DIFFERS):
            taking = True
            out.append(block)
        elif taking and block.lstrip().startswith("- "):
            out.append(block)
        else:
            taking = False
    return out


def _description(text: str) -> list[str]:
    """The blocks of a loss docstring after its summary line, without the `Differs from MMF` ones."""
    blocks = _blocks(text)
    if not blocks:
        return []
    first = blocks[0].split("\n", 1)
    rest = ([first[1]] if len(first) > 1 else []) + blocks[1:]
    differs = set(_differs(text))
    return [block for block in rest if block not in differs and not block.startswith("$$")]


def _math(text: str) -> list[str]:
    """The `$$` display formulas of a docstring."""
    return [block for block in _blocks(text) if block.startswith("$$")]


def _functional_calls(cls: type) -> list[Callable[..., object]]:
    """The `typed_losses.functional` functions that the loss's `forward` calls, in the order it names them."""
    forward = cls.__dict__.get("forward")
    if forward is None:
        return []
    found: list[Callable[..., object]] = []
    for name in forward.__code__.co_names:
        value = forward.__globals__.get(name)
        module = getattr(value, "__module__", "") or ""
        if callable(value) and module.startswith("typed_losses.functional.") and value not in found:
            found.append(value)
    return found


def _formula(spec: LossSpec) -> list[str]:
    """The loss's formula: its own docstring's, else that of each functional function its `forward` calls."""
    own = _math(spec.loss_class.__doc__ or "")
    if own:
        return ["**Formula**", "", *own, ""]
    lines: list[str] = []
    for function in _functional_calls(spec.loss_class):
        formulas = _math(function.__doc__ or "")
        if formulas:
            name = f"{function.__module__}.{function.__name__}"
            lines += [f"**Formula** (`{name}`)", "", *formulas, ""]
    return lines


def _example(spec: LossSpec) -> list[str]:
    """A config entry with every param at its default, required ones at their declared `example`.

    The entry is built from a params instance (so it passes the checks) and written as `to_config()` writes it.
    """
    from typed_losses.collection import LossCollection

    params = check_params_data(spec.params_class, _example_data(spec.params_class))
    registry = Registry(entry_point_group=None)
    for other in _catalog_specs():
        registry.register(other.name, other.loss_class, params=other.params_class)
    entry = LossCollection([params], registry=registry).to_config()
    text = yaml.safe_dump({"losses": entry}, sort_keys=False, default_flow_style=False, allow_unicode=True)
    return ["**Example entry**", "", "```yaml", text.rstrip("\n"), "```", ""]


def _family_differences(module: str) -> list[str]:
    """The `Differs from MMF (every loss here): ...` paragraphs of a catalog module, as one line each."""
    return [" ".join(block.split(":", 1)[1].split()) for block in _differs(sys.modules[module].__doc__ or "")]


def _loss_section(spec: LossSpec) -> list[str]:
    cls = spec.loss_class
    doc = cls.__doc__ or ""
    lines = ["", f"### {spec.name}", "", spec.summary, ""]
    for block in _description(doc):
        lines += [block, ""]
    lines += _formula(spec)
    lines += _params_table(spec.params_class)
    inputs = describe_inputs(cls.inputs)
    if inputs:
        lines += ["**Inputs**", ""]
        lines += [
            f"- `{line.split(' - ')[0]}`" + (f": {line.split(' - ', 1)[1]}" if " - " in line else "") for line in inputs
        ]
        lines.append("")
    terms = cls.output_terms
    if terms:
        lines.append("**Terms**: " + ", ".join(f"`{spec.name}/{t}`" for t in terms) + " (the entry's name, then `/`).")
    else:
        lines.append(f"**Terms**: one, named after the entry (`{spec.name}` unless `name:` says otherwise).")
    lines.append("")
    lines += _example(spec)
    own = _differs(doc)
    module = sys.modules[cls.__module__]
    family = _family_differences(module.__name__)
    if own or family:
        lines += ["**Differences from MMF**", ""]
        for block in own:
            text = block.removeprefix(DIFFERS).lstrip(" :") if block.startswith(DIFFERS) else block
            if text:
                lines += [text[0].upper() + text[1:], ""]
        for block in family:
            lines += [f"As every loss of its family: {block}", ""]
    return lines


def _params_table(params_class: type) -> list[str]:
    """The params of a loss or a weight kind: name, type, default, constraint, description."""
    params_name = params_class.__name__
    infos = params_info(params_class)
    if not infos:
        return [f"**Params** (`{params_name}`): none.", ""]
    lines = [f"**Params** (`{params_name}`)", ""]
    lines += ["| param | type | default | constraint | description |", "|---|---|---|---|---|"]
    for info in infos:
        lines.append(
            f"| `{info.name}` | {_cell(info.type_text)} | `{_cell(info.default_text)}` | "
            f"{_cell(info.constraint) or '-'} | {_cell(info.doc) or '-'} |"
        )
    return [*lines, ""]


def _example_data(params_class: type) -> dict[str, Any]:
    """The required fields of a params class at their declared `example` (a `ValueError` when one has none)."""
    from typed_losses.constraints import rules_of

    data = {
        info.name: rules_of(params_class)[info.name].constraint.example
        for info in params_info(params_class)
        if info.required
    }
    missing = [name for name, value in data.items() if value is None]
    if missing:
        raise ValueError(f"{params_class.__name__}: required fields {missing} declare no `example=` for the reference")
    return data


def _weight_kinds_section() -> list[str]:
    """The built-in weight kinds: summary, fields and an example entry each (`WEIGHT_KINDS`)."""
    from typed_losses.config.convert import weight_entry
    from typed_losses.weighting import WEIGHT_KINDS, WeightParams

    kinds = [k for k in WEIGHT_KINDS if k.weight_class.__module__.startswith("typed_losses.")]
    lines = [
        "",
        "## Weight kinds",
        "",
        "An entry's `weight:` is a number (default 1.0) or one of these kinds, written as a mapping with `type`",
        "(see [Weights and logging](weights.md)); `k` is the collection's step counter.",
        "",
        "| kind | summary |",
        "|---|---|",
    ]
    lines += [f"| [`{kind.name}`](#weight-{kind.name}) | {_cell(kind.summary)} |" for kind in kinds]
    for kind in kinds:
        lines += ["", f"### {kind.name} {{#weight-{kind.name}}}", "", kind.summary, ""]
        lines += _params_table(kind.params_class)
        params = check_params_data(kind.params_class, _example_data(kind.params_class))
        assert isinstance(params, WeightParams)
        entry = {"type": "mse", "weight": weight_entry(params)}
        text = yaml.safe_dump({"losses": [entry]}, sort_keys=False, default_flow_style=None, allow_unicode=True)
        lines += ["**Example entry**", "", "```yaml", text.rstrip("\n"), "```", ""]
    return lines


def _catalog_specs() -> list[LossSpec]:
    """The registered losses this package ships (plugins installed beside it are left out)."""
    return [
        spec
        for spec in REGISTRY
        if spec.loss_class.__module__.startswith("typed_losses.")
        and spec.params_class.__module__.startswith("typed_losses.")
        and "<" not in spec.loss_class.__qualname__
        and "<" not in spec.params_class.__qualname__
    ]


def catalog_registry() -> Registry:
    """A registry of the catalog alone: the artifacts describe what this package ships, whatever else
    (plugins, a test's losses) is registered in the process."""
    registry = Registry(entry_point_group=None)
    for spec in _catalog_specs():
        registry.register(spec.name, spec.loss_class, params=spec.params_class)
    return registry


def catalog_schema_text() -> str:
    """`schemas/losses.schema.json`: the JSON Schema of the catalog."""
    return schema_text(catalog_registry())


def _families(specs: list[LossSpec]) -> list[tuple[str, str, list[LossSpec]]]:
    """(module, title, losses) for each catalog module, in page order."""
    modules = sorted({spec.loss_class.__module__ for spec in specs}, key=lambda m: (m not in FAMILIES, m))
    order = list(FAMILIES) + [m for m in modules if m not in FAMILIES]
    return [
        (
            module,
            FAMILIES.get(module, module),
            sorted((s for s in specs if s.loss_class.__module__ == module), key=lambda s: s.name),
        )
        for module in order
        if module in modules
    ]


def losses_reference() -> str:
    """`docs/losses.md`: every catalog loss by family, with formula, params, inputs, terms, an example entry
    and its differences from MMF."""
    specs = _catalog_specs()
    families = _families(specs)
    lines = [
        "# Loss reference",
        "",
        "<!-- Generated by `python -m typed_losses.generate`; do not edit by hand. -->",
        "",
        "Every loss of the built-in catalog, under MMF's registry names, grouped by family. Each loss has its",
        "formula, its params (type, default, constraint, description), the inputs it reads, the terms it returns,",
        "an example entry (every param at its default) and its deliberate differences from MMF. Numbers are",
        "otherwise MMF's (float32, 1e-6 relative; the KL family's to float32 rounding, 1e-5).",
        "",
        "In the formulas, $s$ is `model_output['scores']` (logits unless said otherwise), $t$ the targets,",
        "$B$ the batch size and $C$ the number of classes.",
        "",
    ]
    for _module, title, members in families:
        anchor = title.lower().replace(" ", "-")
        names = ", ".join(f"[`{spec.name}`](#{spec.name})" for spec in members)
        lines.append(f"- [{title}](#{anchor}): {names}")
    lines += ["", "## Differences from MMF", ""]
    lines.append("Each loss section ends with its differences from MMF; in short, by family:")
    lines.append("")
    for module, title, members in families:
        anchor = title.lower().replace(" ", "-")
        parts = [f"every loss: {text.rstrip('.')}" for text in _family_differences(module)]
        own = [f"[`{spec.name}`](#{spec.name})" for spec in members if _differs(spec.loss_class.__doc__ or "")]
        if own:
            parts.append("differences of their own: " + ", ".join(own))
        if parts:
            lines.append(f"- [{title}](#{anchor}): " + "; ".join(parts))
    for module, title, members in families:
        intro = _blocks(sys.modules[module].__doc__ or "")
        lines += ["", f"## {title}", ""]
        if intro and not intro[0].startswith("`"):
            lines += [intro[0].split(":", 1)[0] + ".", ""]
        lines += ["| loss | summary |", "|---|---|"]
        for spec in members:
            lines.append(f"| [`{spec.name}`](#{spec.name}) | {_cell(spec.summary)} |")
        for spec in members:
            lines += _loss_section(spec)
    lines += _weight_kinds_section()
    text = "\n".join(lines).strip("\n")
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text + "\n"


def builders_module() -> str:
    """`typed_losses/builders.py`: `build_loss` with one `Literal` overload per catalog loss."""
    specs = _catalog_specs()
    # Each class is imported from the module defining it; a clash of names gets a module-qualified alias.
    imports: dict[str, dict[str, str]] = {}
    local: dict[tuple[str, str], str] = {}
    taken: set[str] = {
        "Any",
        "Literal",
        "Mapping",
        "attrs",
        "overload",
        "Loss",
        "REGISTRY",
        "ConfigIssue",
        "LossConfigError",
        "check_params_data",
        "build_loss",
        "LossName",
    }
    for spec in specs:
        for cls in (spec.params_class, spec.loss_class):
            key = (cls.__module__, cls.__qualname__)
            if key in local:
                continue
            alias = cls.__qualname__
            if alias in taken:
                alias = cls.__module__.rsplit(".", 1)[-1].title().replace("_", "") + "_" + cls.__qualname__
            taken.add(alias)
            local[key] = alias
            imports.setdefault(cls.__module__, {})[cls.__qualname__] = alias

    def ref(cls: type) -> str:
        return local[(cls.__module__, cls.__qualname__)]

    lines = [
        '"""`build_loss`: build a catalog loss from its registry name, checked by type checkers.',
        "",
        "Generated by `python -m typed_losses.generate` from the registry; do not edit by hand.",
        "",
        "One `Literal` overload per catalog loss ties the name to its params class and its loss class, so a",
        'type checker rejects `build_loss("cross_entropy", MSEParams())` and types',
        '`build_loss("cross_entropy", CrossEntropyParams())` as `CrossEntropyLoss`. Any other name',
        "takes plain params data (`Mapping[str, object]`), checked at run time.",
        "",
        "This module imports the catalog, so `import typed_losses` does not import it: it is loaded on the",
        "first use of `typed_losses.build_loss` (or `from typed_losses.builders import build_loss`).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping",
        "from typing import Any, Literal, overload",
        "",
        "import attrs",
        "",
        "from typed_losses.config.check import check_params_data",
        "from typed_losses.errors import ConfigIssue, LossConfigError",
        "from typed_losses.loss import Loss",
    ]
    for module in sorted(imports):
        names = sorted(imports[module].items())
        parts = [name if alias == name else f"{name} as {alias}" for name, alias in names]
        lines.append(f"from {module} import (")
        lines += [f"    {part}," for part in parts]
        lines.append(")")
    lines += [
        "from typed_losses.registry import REGISTRY",
        "from typed_losses.rules import describe_value, name_problem",
        "",
        '__all__ = ["LossName", "build_loss"]',
        "",
        "#: The registry names of the catalog's losses.",
    ]
    if specs:
        lines.append("LossName = Literal[")
        lines += [f'    "{spec.name}",' for spec in specs]
        lines.append("]")
    else:
        lines.append("LossName = str")
    for spec in specs:
        lines += [
            "",
            "",
            "@overload",
            "def build_loss(",
            f'    name: Literal["{spec.name}"],',
            f"    params: {ref(spec.params_class)} | Mapping[str, object],",
            "    *,",
            "    term_name: str | None = None,",
            f") -> {ref(spec.loss_class)}: ...",
        ]
    lines += [
        "",
        "",
        "@overload",
        "def build_loss(name: str, params: Mapping[str, object], *, term_name: str | None = None) -> Loss[Any]: ...",
        "",
        "",
        "def build_loss(",
        "    name: str, params: Mapping[str, object] | attrs.AttrsInstance, *, term_name: str | None = None",
        ") -> Loss[Any]:",
        '    """The loss registered as `name`, built from a params instance or from plain params data.',
        "",
        "    Plain data goes through the same checks as a config file: an unknown name, an unknown param or a",
        "    bad value raises [`LossConfigError`][typed_losses.LossConfigError] naming it. `term_name` names the term",
        "    (default: the registry name). A name or params of the wrong type raise `TypeError` saying what",
        "    was expected; a term name that breaks the term-name rule raises `ValueError`.",
        '    """',
        "    if not isinstance(name, str):",
        "        raise TypeError(",
        '            f"build_loss(name, params): name is the registry name of a loss (a str), got {describe_value(name)}"',
        "        )",
        "    if term_name is not None and (problem := name_problem(term_name)) is not None:",
        "        message, hint = problem",
        "        error = TypeError if not isinstance(term_name, str) else ValueError",
        '        raise error(f"build_loss({name!r}, ..., term_name=...): {message}" + (f" ({hint})" if hint else ""))',
        "    spec = REGISTRY.get(name)",
        "    if spec is None:",
        '        raise LossConfigError([ConfigIssue("name", f"unknown loss {name!r}", hint=REGISTRY.suggest(name))])',
        "    if isinstance(params, Mapping):",
        "        params = check_params_data(spec.params_class, params)",
        "    elif not attrs.has(type(params)):",
        "        raise TypeError(",
        '            f"build_loss({name!r}, ...) takes {spec.params_class.__name__} or a mapping of params, "',
        '            f"got {type(params).__name__}"',
        "        )",
        "    return spec.loss_class(params, name=term_name)",
    ]
    return "\n".join(lines) + "\n"


def demo_config() -> str:
    """`typed_losses/demo/demo.yaml`: `examples/demo.yaml`, packaged so that the wheel runs the demo.

    The schema modeline (a path relative to `examples/`) becomes a "generated" note on the same line, so
    the two files keep the same line numbers.
    """
    lines = (ROOT / "examples" / "demo.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    if lines and lines[0].startswith("# yaml-language-server:"):
        lines[0] = "# Generated from examples/demo.yaml by `python -m typed_losses.generate`: edit that file.\n"
    return "".join(lines)


#: Generated artifacts: repository-relative path -> producer of its text.
ARTIFACTS: dict[str, Callable[[], str]] = {
    "typed_losses/demo/demo.yaml": demo_config,
    "docs/losses.md": losses_reference,
    "typed_losses/builders.py": builders_module,
    "schemas/losses.schema.json": catalog_schema_text,
}


def stale(root: Path = ROOT) -> list[str]:
    """The artifacts whose committed text differs from what the registry generates now."""
    REGISTRY.load_entry_points()
    out = []
    for relative, produce in ARTIFACTS.items():
        path = root / relative
        if not path.exists() or path.read_text(encoding="utf-8") != produce():
            out.append(relative)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m typed_losses.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report stale artifacts; exit 1 if any")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    REGISTRY.load_entry_points()
    if args.check:
        outdated = stale(args.root)
        for relative in outdated:
            print(f"stale: {relative} (run `python -m typed_losses.generate`)")
        return 1 if outdated else 0
    for relative, produce in ARTIFACTS.items():
        path = args.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(produce(), encoding="utf-8")
        print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
