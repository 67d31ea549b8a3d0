"""deploy/: the systemd units parse, name commands and options the CLI has,
and take their variables from deploy/feedwright.env."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest

from feedwright.cliparser import parse_args

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = {
    "feedwright.service": "run",
    "feedwright-dispatcher.service": "run",
    "feedwright-worker.service": "worker",
}


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / name).read_text(encoding="utf-8"))
    return parser


def env_file() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (DEPLOY / "feedwright.env").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), line
        values[key] = value
    return values


@pytest.mark.parametrize("name", sorted(UNITS))
def test_unit_parses_and_execstart_matches_the_cli(name: str) -> None:
    parsed = unit(name)
    assert {"Unit", "Service", "Install"} <= set(parsed.sections())
    service = parsed["Service"]
    env = env_file() if "EnvironmentFile" in service else {}
    if env:
        assert service["EnvironmentFile"] == "/etc/feedwright/feedwright.env"
    used = re.findall(r"\$\{(\w+)\}", service["ExecStart"])
    assert set(used) <= set(env), f"{name} uses variables feedwright.env does not set"
    command = re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], service["ExecStart"])
    argv = shlex.split(command)
    assert Path(argv[0]).name == "feedwright"
    args = parse_args(argv[1:])  # exits on an unknown option
    assert args.command == UNITS[name]
    assert Path(args.config).is_absolute()
    assert service["WorkingDirectory"] == str(Path(args.config).parent)
    assert parsed["Install"]["WantedBy"] == "multi-user.target"


def test_env_file_sets_what_the_units_use_and_nothing_else() -> None:
    env = env_file()
    used: set[str] = set()
    for name in UNITS:
        used |= set(re.findall(r"\$\{(\w+)\}", unit(name)["Service"]["ExecStart"]))
    assert set(env) - {"PYTHONUNBUFFERED"} == used
    assert int(env["FEEDWRIGHT_CONCURRENCY"]) >= 1


def test_worker_concurrency_reaches_the_cli() -> None:
    service = unit("feedwright-worker.service")["Service"]
    command = re.sub(r"\$\{(\w+)\}", lambda m: env_file()[m.group(1)], service["ExecStart"])
    args = parse_args(shlex.split(command)[1:])
    assert args.concurrency == int(env_file()["FEEDWRIGHT_CONCURRENCY"])


def test_docs_name_every_unit() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    deploy = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for name in [*UNITS, "feedwright.env"]:
        assert f"deploy/{name}" in readme + deploy, name
    for name in ("feedwright-dispatcher.service", "feedwright-worker.service"):
        assert name in readme, name
