"""`typed-losses`: validate loss configs, show where their values come from, list the registered losses,
write the JSON Schema, run the demo. `docs/cli.md` is the reference.

Exit codes: 0 success, 1 invalid or unreadable config, 2 usage error (a bad option, an unknown name given to
`list`, a `--plugin` that cannot be loaded). Problems are printed one per line as
`FILE:LINE:COL: error: PATH: message (hint)`; never a traceback for a user mistake. Everything taken
from a config or a command line is shown literally (`printable()`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from typed_losses import __version__
from typed_losses.cli_support import LOSSES_KEY, count, find_losses, printable, select
from typed_losses.config.check import check_losses
from typed_losses.config.paths import render_path
from typed_losses.config.yaml import load_yaml, path_of
from typed_losses.errors import ConfigIssue, LossConfigError
from typed_losses.introspect import params_info
from typed_losses.loss import describe_inputs
from typed_losses.registry import REGISTRY, load_plugin
from typed_losses.rules import WEIGHT_NUMBER_TEXT
from typed_losses.weighting import WEIGHT_KINDS, WeightSpec

__all__ = ["main"]


def _say(text: str, out: TextIO) -> None:
    """Print one line, every control character escaped."""
    print(printable(text), file=out)


def _print_issues(issues: Sequence[ConfigIssue], out: TextIO) -> None:
    for issue in issues:
        _say(issue.format(severity="error"), out)


def _usage_error(message: str) -> int:
    _say(f"typed-losses: error: {message}", sys.stderr)
    return 2


def _validate(args: argparse.Namespace, out: TextIO) -> int:
    status = 0
    for file in args.files:
        try:
            root = load_yaml(file)
        except LossConfigError as exc:
            _print_issues(exc.issues, out)
            status = 1
            continue
        if args.key:
            selected = select(root, args.key)
            if selected is None:
                _say(f"{file}: error: no key {args.key!r} in the document", out)
                status = 1
                continue
            nodes = [selected]
        else:
            nodes = find_losses(root)
            if not nodes:
                if args.allow_no_losses:
                    _say(f"{file}: skipped: no `{LOSSES_KEY}` key", out)
                    continue
                _say(f"{file}: error: no `{LOSSES_KEY}` key anywhere in the document", out)
                status = 1
                continue
        issues: list[ConfigIssue] = []
        terms = 0
        for node in nodes:
            try:
                terms += len(check_losses(node))
            except LossConfigError as exc:
                issues.extend(exc.issues)
        if issues:
            _print_issues(issues, out)
            status = 1
        else:
            lists = count(len(nodes), f"`{LOSSES_KEY}` list")
            _say(f"{file}: ok: {count(terms, 'loss term')} in {lists}", out)
    return status


def _list(args: argparse.Namespace, out: TextIO) -> int:
    kinds: list[WeightSpec] = list(WEIGHT_KINDS)
    if args.names:
        unknown = [name for name in args.names if name not in REGISTRY and name not in WEIGHT_KINDS]
        for name in unknown:
            _usage_error(f"unknown loss {name!r} ({REGISTRY.suggest(name)})")
        if unknown:
            return 2
        names = list(dict.fromkeys(args.names))
        specs = [REGISTRY[name] for name in names if name in REGISTRY]
        kinds = [kind for name in names if name not in REGISTRY and (kind := WEIGHT_KINDS.get(name)) is not None]
    else:
        specs = list(REGISTRY)
    for spec in specs:
        _say(f"{spec.name}  ({spec.loss_class.__name__}, params {spec.params_class.__name__})", out)
        _describe_params(spec.summary, spec.params_class, out)
        if args.verbose:
            for line in describe_inputs(spec.loss_class.inputs):
                _say(f"    reads {line}", out)
            if spec.loss_class.inputs:
                keys = ", ".join(i.key for i in spec.loss_class.inputs)
                _say(f"    inputs: {keys} (an entry's `inputs:` reads them from other keys)", out)
            if spec.loss_class.output_terms:
                _say(f"    terms: {', '.join(spec.loss_class.output_terms)}", out)
    if kinds:
        if specs:
            _say("", out)
        _say(f"weight kinds (`weight: {{type: KIND, ...}}`; a constant weight is {WEIGHT_NUMBER_TEXT}):", out)
        for kind in kinds:
            _say(f"{kind.name}  ({kind.weight_class.__name__}, params {kind.params_class.__name__})", out)
            _describe_params(kind.summary, kind.params_class, out)
    return 0


def _describe_params(summary: str, params_class: type, out: TextIO) -> None:
    """A loss's or weight kind's summary and params, one line each (`list`)."""
    if summary:
        _say(f"    {summary}", out)
    infos = params_info(params_class)
    if not infos:
        _say("    params: none", out)
    for info in infos:
        constraint = f" [{info.constraint}]" if info.constraint else ""
        doc = f"  - {info.doc}" if info.doc else ""
        _say(f"    {info.name}: {info.type_text} = {info.default_text}{constraint}{doc}", out)


def _schema(args: argparse.Namespace, out: TextIO) -> int:
    from typed_losses.schema import schema_text

    text = schema_text()
    if args.output in (None, "-"):
        if args.check:
            _say("typed-losses: error: schema --check needs -o FILE (the file to compare)", sys.stderr)
            return 2
        out.write(text)
        return 0
    try:
        with open(args.output, encoding="utf-8") as f:
            current: str | None = f.read()
    except (OSError, UnicodeDecodeError):
        current = None
    if current == text:  # left untouched: pre-commit and make see no change
        _say(f"{args.output} is up to date", out)
        return 0
    if args.check:
        _say(f"{args.output} is out of date: rerun this command without --check to rewrite it", out)
        return 1
    try:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        _say(f"typed-losses: error: cannot write {args.output}: {exc.strerror or exc}", sys.stderr)
        return 1
    _say(f"wrote {args.output}", out)
    return 0


def _show(args: argparse.Namespace, out: TextIO) -> int:
    from typed_losses.cli_show import render
    from typed_losses.provenance import losses_provenance

    file = args.file
    try:
        root = load_yaml(file)
    except LossConfigError as exc:
        _print_issues(exc.issues, out)
        return 1
    if args.key:
        selected = select(root, args.key)
        if selected is None:
            _say(f"{file}: error: no key {args.key!r} in the document", out)
            return 1
        nodes = [selected]
    else:
        nodes = find_losses(root)
        if not nodes:
            _say(f"{file}: error: no `{LOSSES_KEY}` key anywhere in the document", out)
            return 1
    shown = []
    issues: list[ConfigIssue] = []
    for node in nodes:
        path, _ = path_of(node)
        try:
            shown.append((render_path("", path) or LOSSES_KEY, losses_provenance(node)))
        except LossConfigError as exc:
            issues.extend(exc.issues)
    if issues:
        _print_issues(issues, out)
        return 1
    render(file, shown, out, args.format)
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, found {value}")
    return value


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from typed_losses.demo import run_demo

    return run_demo(config=args.config, steps=args.steps, seed=args.seed, out=out, out_dir=args.out)


PLUGIN_HELP = (
    "import MODULE first, so that the losses it registers are known (repeatable): a module name "
    "(my_package.losses), found on sys.path or in the current directory as `python -m` finds it, "
    "or a path to a .py file (./my_losses.py)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="typed-losses", description="Typed, checked loss configs for PyTorch (MMF-compatible)."
    )
    parser.add_argument("--version", action="version", version=f"typed-losses {__version__}")
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help=PLUGIN_HELP,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = sub.add_parser("validate", help="check the `losses` of config files")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--key", metavar="DOTTED.KEY", help="check only this key (default: every key named `losses`)")
    validate.add_argument(
        "--allow-no-losses",
        action="store_true",
        help="skip files without a `losses` key instead of failing (for pre-commit over all YAML files)",
    )
    validate.set_defaults(run=_validate)

    show = sub.add_parser(
        "show", help="the resolved losses of a config: every value and where it came from (file:line, default)"
    )
    show.add_argument("file", metavar="FILE")
    show.add_argument("--key", metavar="DOTTED.KEY", help="show only this key (default: every key named `losses`)")
    show.add_argument(
        "--format",
        choices=("auto", "table", "plain", "json"),
        default="auto",
        help="auto (default): a table on a terminal, plain text otherwise",
    )
    show.set_defaults(run=_show)

    listing = sub.add_parser("list", help="every registered loss (or the NAMEs given) with its params")
    listing.add_argument("names", nargs="*", metavar="NAME", help="show only these losses (default: all)")
    listing.add_argument("-v", "--verbose", action="store_true", help="also show inputs and output terms")
    listing.set_defaults(run=_list)

    schema = sub.add_parser("schema", help="write the JSON Schema of loss configs (for editors and check-jsonschema)")
    schema.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: standard output)")
    schema.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 when FILE is not what would be written (CI)"
    )
    schema.set_defaults(run=_schema)

    demo = sub.add_parser("demo", help="validate a config and train a small model with it")
    demo.add_argument("--config", metavar="FILE", help="a config with a `losses` key (default: the demo config)")
    demo.add_argument("--steps", type=_positive, default=300, help="training steps (default: 300)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the data, the model and the batches (default: 0)")
    demo.add_argument(
        "--out",
        metavar="DIR",
        default="demo-output",
        help="where to write losses.csv/.json/.png (default: demo-output)",
    )
    demo.set_defaults(run=_demo)

    for p in (validate, show, listing, schema, demo):
        p.add_argument("--plugin", dest="sub_plugins", action="append", default=[], help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of the `typed-losses` console script."""
    stream = out if out is not None else sys.stdout
    args = _parser().parse_args(argv)
    for module in [*args.plugin, *args.sub_plugins]:
        try:
            load_plugin(module)
        except ImportError as exc:  # load_plugin turns every plugin failure into one ImportError line
            return _usage_error(str(exc))
    try:
        code: int = args.run(args, stream)
    except BrokenPipeError:  # `typed-losses show ... | head`: the reader left; no traceback
        if out is None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
