"""The `repehand` command: installed, self-describing, and quiet about user errors."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

from repehand_ros import __version__
from repehand_ros.tools import cli

REPEHAND = Path(sys.executable).with_name("repehand")


def test_console_script_is_installed_and_reports_its_version():
    result = subprocess.run(
        [str(REPEHAND), "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"repehand {__version__}"


def test_help_lists_the_sub_commands():
    result = subprocess.run([str(REPEHAND), "--help"], capture_output=True, text=True, check=True)
    assert "dds-demo" in result.stdout


def test_a_user_error_is_one_line_and_exit_status_2(monkeypatch, capsys):
    def fail(args):
        raise cli.CommandError("weights/missing.pth does not exist")

    module = types.ModuleType("fake_subcommand")
    module.register = lambda subparsers: subparsers.add_parser("fail").set_defaults(func=fail)
    monkeypatch.setitem(sys.modules, "fake_subcommand", module)
    monkeypatch.setattr(cli, "SUBCOMMAND_MODULES", ("fake_subcommand",))
    assert cli.main(["fail"]) == 2
    assert capsys.readouterr().err == "repehand fail: error: weights/missing.pth does not exist\n"
