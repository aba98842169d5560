# SPDX-License-Identifier: Apache-2.0
"""``west mcubert``: forwards its arguments to the mcubert command line.

Everything after ``west mcubert`` (options included, ``--help`` too) goes
unchanged to :func:`mcubert.cli.main`, so ``west mcubert ARGS`` behaves
like ``python -m mcubert ARGS``. The package is imported from this
repository's ``scripts/`` directory, so no ``pip install`` is needed.
"""

import argparse
import sys
from pathlib import Path

from west.commands import WestCommand

# What the model tooling (convert, train, eval, plots) imports beyond numpy; Zephyr builds need none of it.
TOOLING_MODULES = {'torch', 'safetensors', 'tokenizers', 'transformers', 'matplotlib'}

# <repo>/scripts, which holds the mcubert package.
SCRIPTS_DIR = Path(__file__).resolve().parents[1]

DESCRIPTION = """\
Convert, check and run int8 BERT models for the mcubert Zephyr module.

All arguments are passed to the mcubert command line; run
"west mcubert --help" for its subcommands and options."""


def _import_cli():
    """Import mcubert.cli from this repository's scripts/ directory."""
    scripts = str(SCRIPTS_DIR)
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    from mcubert import cli  # noqa: E402 (needs the sys.path entry above)

    return cli


class McubertCommand(WestCommand):

    def __init__(self):
        super().__init__(
            'mcubert',
            'convert, check and run int8 BERT models for mcubert',
            DESCRIPTION,
            accepts_unknown_args=True,
            requires_workspace=False,
        )

    def do_add_parser(self, parser_adder):
        # No options of our own, and no -h/--help: everything, help
        # included, belongs to the mcubert command line.
        parser = parser_adder.add_parser(
            self.name,
            help=self.help,
            description=self.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            add_help=False,
        )
        parser.add_argument('args', nargs=argparse.REMAINDER,
                            help='arguments for the mcubert command line')
        return parser

    def do_run(self, args, unknown_args):
        argv = self._forwarded_argv(args, unknown_args)
        try:
            cli = _import_cli()
        except ImportError as e:
            self.die(f'cannot import mcubert.cli from {SCRIPTS_DIR}: {e} '
                     '(missing Python dependency?)')
        self.dbg(f'mcubert.cli.main({argv!r})')
        try:
            rc = cli.main(argv)
        except ModuleNotFoundError as e:
            if e.name not in TOOLING_MODULES:
                raise
            # Zephyr's Python has no PyTorch & co.: building the samples needs none, converting does.
            self.die(f'"west mcubert {argv[0] if argv else ""}" needs the mcubert tooling, '
                     f'which is not installed in {sys.executable} (no module {e.name!r}): '
                     f'pip install -e {SCRIPTS_DIR.parent}')
        if rc:
            # Keep the CLI's own exit status (argparse uses 2, etc.).
            raise SystemExit(rc)

    @staticmethod
    def _forwarded_argv(args, unknown_args):
        """The arguments that followed 'mcubert', in their original order.

        argparse puts the options before the first positional argument
        (none of which this parser knows) in unknown_args, and the first
        positional argument and everything after it in args.args.
        """
        return list(unknown_args) + list(args.args)
