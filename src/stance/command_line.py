"""The one command-line convention of every ``stance`` command.

A command takes its inputs and common options as flags (argparse). Each flag that stands for a
setting names its key in the command's Hydra config (``configs/COMMAND.yaml``, typed in
:mod:`stance.config`), which is the only place its default is written: ``--help`` shows the
composed value. Any setting, with or without a flag, can also be given as a ``key=value`` Hydra
override anywhere on the line (``stance predict --model M article.txt batch_size=64``); a flag
given explicitly wins over an override. ``--cfg`` prints the composed config and exits.
"""
from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

# a Hydra override: key=value, group=option, group@package=option, +key=value, ++key=value, ~key=value
OVERRIDE = re.compile(r"^(\+\+|\+|~)?[A-Za-z_][\w-]*(?:[./][A-Za-z_][\w-]*)*(?:@[\w.-]+)?=")
HYDRA_APP_FLAGS = """Hydra options (as for any Hydra app):
  --multirun, -m            run once per combination of comma-separated override values
  --cfg job|hydra|all       print the composed config and exit (--resolve to resolve it)
  --info, --hydra-help      Hydra's own information"""


class UsageError(Exception):
    """A command line that cannot run: reported like argparse's errors (usage, message, exit 2)."""


def quoted(value: str) -> str:
    """A Hydra override value that keeps spaces, commas, brackets and quotes in a path literal."""
    return "'" + str(value).replace("'", "\\'") + "'"


def is_override(arg: str) -> bool:
    """``key=value`` (not an existing file that happens to contain ``=``)."""
    return bool(OVERRIDE.match(arg)) and not Path(arg).exists()


class Command:
    """An argparse parser whose setting flags read their defaults from the Hydra config ``config``."""

    def __init__(self, name: str, config: str, description: str, show: str | None = None, hydra_app: bool = False,
                 groups: tuple[str, ...] = ()):
        self.name, self.config, self.show, self.hydra_app, self.groups = name, config, show, hydra_app, groups
        self.parser = argparse.ArgumentParser(prog=f"stance {name}", description=description, allow_abbrev=False,
                                              formatter_class=argparse.RawDescriptionHelpFormatter)
        self.settings: dict[argparse.Action, str] = {}  # flag -> the config key it sets
        self._one_value: set[str] = set()  # option strings whose next argument is their value
        if not hydra_app:
            self.parser.add_argument("--cfg", action="store_true",
                                     help="print the composed config (every setting, resolved) and exit; `--cfg job` too")

    def add(self, *names: str, setting: str | None = None, group: Any = None, **kw: Any) -> argparse.Action:
        """An argument (in ``group``, e.g. a mutually exclusive one); with ``setting``, the config key it
        sets (its default is that key's value)."""
        if setting:
            kw["default"] = argparse.SUPPRESS  # absent unless given: the config keeps its own value
        action = (group or self.parser).add_argument(*names, **kw)
        if action.option_strings and action.nargs is None:
            self._one_value.update(action.option_strings)
        if setting:
            self.settings[action] = setting
        return action

    # -- parsing -------------------------------------------------------------------------------------
    def split(self, argv: list[str]) -> tuple[list[str], list[str]]:
        """(Hydra overrides, everything else), in order; a flag's own value is never an override."""
        overrides, rest, i = [], [], 0
        while i < len(argv):
            a = argv[i]
            if a == "--":
                rest += argv[i:]
                break
            if a in self._one_value and i + 1 < len(argv):
                rest += [a, argv[i + 1]]
                i += 2
                continue
            (overrides if is_override(a) else rest).append(a)
            i += 1 + (a == "--cfg" and not self.hydra_app and argv[i + 1:i + 2] == ["job"])  # as Hydra apps spell it
        return overrides, rest

    def compose(self, overrides: list[str]) -> DictConfig:
        from .config import compose

        try:
            return compose(self.config, overrides)
        except Exception as exc:  # noqa: BLE001 - Hydra's message names the bad key or value
            cause = f" ({exc.__cause__})" if exc.__cause__ and str(exc.__cause__) not in str(exc) else ""
            raise UsageError(f"{exc}{cause}") from None

    def _describe(self, cfg: DictConfig) -> None:
        """Put each setting's composed value into its flag's help, and every setting into the epilog."""
        for action, key in self.settings.items():
            try:
                value = "required" if _missing(cfg, key) else _show(OmegaConf.select(cfg, key))
            except Exception:  # noqa: BLE001 - an interpolation that needs another setting
                value = "?"
            action.help = f"{action.help or ''} (default {value}; setting {key})".replace("%", "%%")
        node = cfg[self.show] if self.show else cfg
        body = OmegaConf.to_yaml(node).rstrip().replace("%", "%%")
        where = f"configs/{self.config}.yaml" + (f", group {self.show}" if self.show else "")
        self.parser.epilog = (HYDRA_APP_FLAGS + "\n\n" if self.hydra_app else "") + self._groups() + (
            f"settings ({where}; change any with key=value):\n" + "\n".join("  " + line for line in body.splitlines()))

    def _groups(self) -> str:
        """The config groups this command composes from, and their options (group=option)."""
        if not self.groups:
            return ""
        from .config import config_dir

        lines = [f"  {g}: {', '.join(sorted(p.stem for p in (Path(config_dir()) / g).glob('*.yaml')))}" for g in self.groups]
        return "config groups (group=option):\n" + "\n".join(lines) + "\n\n"

    def parse(self, argv: list[str]) -> tuple[argparse.Namespace, DictConfig]:
        """The parsed flags and the composed config with the flags applied (argparse errors exit 2)."""
        overrides, rest = self.split(argv)
        try:
            cfg = self.compose(overrides)
        except UsageError as exc:
            self.parser.error(str(exc))
        self._describe(cfg)
        args = self.parser.parse_intermixed_args(rest)
        args.argv = list(argv)  # the command line as given, for reports that say how to reproduce them
        for action, key in self.settings.items():
            if hasattr(args, action.dest):
                try:
                    OmegaConf.update(cfg, key, getattr(args, action.dest), merge=False)
                except Exception as exc:  # noqa: BLE001 - a value of the wrong type for the setting
                    self.parser.error(f"{'/'.join(action.option_strings) or action.metavar or action.dest}: {exc}")
        for action, key in self.settings.items():
            if _missing(cfg, key):
                flag = "/".join(action.option_strings) or action.metavar or action.dest
                self.parser.error(f"the following arguments are required: {flag} (or {key}=...)")
            if action.choices is not None:
                value = OmegaConf.select(cfg, key)
                if value is not None and value not in action.choices:
                    self.parser.error(f"{key}: invalid choice {value!r} (choose from {', '.join(map(str, action.choices))})")
        return args, cfg

    def run(self, argv: list[str], body: Callable[[argparse.Namespace, DictConfig], int]) -> int:
        """Parse ``argv`` and call ``body(args, cfg)``; ``--cfg`` prints the config instead."""
        args, cfg = self.parse(argv)
        if getattr(args, "cfg", None):
            print(OmegaConf.to_yaml(cfg, resolve=True), end="")
            return 0
        try:
            return body(args, cfg)
        except UsageError as exc:
            self.parser.error(str(exc))

    def hydra_overrides(self, argv: list[str]) -> list[str]:
        """For a Hydra app (train, eval): ``--help`` is answered here (exit 0); the command's flags
        become overrides (``--model P`` -> ``model_path='P'``) and the rest passes to Hydra as given."""
        if any(a in ("-h", "--help") for a in argv):
            overrides, _ = self.split(argv)
            try:
                self._describe(self.compose(overrides))
            except UsageError as exc:
                self.parser.error(str(exc))
            self.parser.print_help()
            raise SystemExit(0)
        args, rest = self.parser.parse_known_args(argv)
        given = [f"{key}={quoted(getattr(args, a.dest))}" for a, key in self.settings.items() if hasattr(args, a.dest)]
        return given + rest


def _missing(cfg: DictConfig, key: str) -> bool:
    parent, _, leaf = key.rpartition(".")
    return OmegaConf.is_missing(OmegaConf.select(cfg, parent) if parent else cfg, leaf)


def _show(value: Any) -> str:
    if isinstance(value, DictConfig) or OmegaConf.is_list(value):
        value = OmegaConf.to_container(value)
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)

