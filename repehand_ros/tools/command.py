"""What every sub-command of `repehand` shares: its user-error type and common options.

Sub-commands import this module, never `repehand_ros.tools.cli`, which imports
them: the command line depends on its sub-commands, not the other way round.
"""

from __future__ import annotations

import argparse


class CommandError(Exception):
    """A problem the user can fix (a missing file, a bad option): printed as one line."""


def add_architecture_options(parser: argparse.ArgumentParser) -> None:
    """--variant and --input-size: checks against the checkpoint, which says both itself."""
    from repehand_ros.model.variants import (
        DEFAULT_INPUT_SIZE,
        DEFAULT_VARIANT,
        VARIANTS,
        check_input_size,
    )

    def input_size(text: str) -> int:
        try:
            return check_input_size(int(text))
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parser.add_argument(
        "--variant",
        choices=sorted(VARIANTS),
        help="network size: read from the checkpoint (an error if this disagrees); with "
        f"random weights {DEFAULT_VARIANT}",
    )
    parser.add_argument(
        "--input-size",
        type=input_size,
        metavar="PIXELS",
        help="crop size: read from the checkpoint (an error if this disagrees); with random "
        f"weights {DEFAULT_INPUT_SIZE}",
    )
