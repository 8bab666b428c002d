"""README.md as a test: every flag it names exists on its verb, and its blocks run as written (about 5.5 min on 2
cores: part of the default suite, so CI proves the README on every change)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# lines a fresh clone runs before the blocks (installing, entering the venv): not part of the walk-through
SETUP = ("make ", "pip ", "python3 -m venv", "source ", "git clone", "cd ")


def blocks(lang: str) -> list[str]:
    """The fenced ```lang blocks of the README, in order."""
    return re.findall(rf"^```{lang}\n(.*?)^```", README, flags=re.S | re.M)


def commands() -> list[list[str]]:
    """Each `actionlab ...` command line of the bash blocks, as argv (comments and redirections dropped)."""
    out = []
    for block in blocks("bash"):
        for line in block.splitlines():
            argv = shlex.split(line, comments=True)
            if argv and argv[0] == "actionlab":
                out.append(argv[1 : argv.index(">")] if ">" in argv else argv[1:])
    return out


def verb_parsers() -> dict[str, object]:
    """verb (and `cache clean`) -> its argparse parser."""
    from actionlab.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "verb")
    parsers = dict(sub.choices)
    for verb, parser in sub.choices.items():
        for action in parser._actions:
            if action.dest == "action" and getattr(action, "choices", None):
                parsers.update({f"{verb} {name}": p for name, p in action.choices.items()})
    return parsers


def flags_of(parser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def test_every_readme_command_parses() -> None:
    """Each command of the bash blocks names a verb and only flags it has, and parses as a whole."""
    from actionlab.cli import build_parser

    parsers, parser = verb_parsers(), build_parser()
    assert len(commands()) >= 15
    for argv in commands():
        verb = " ".join(argv[:2]) if " ".join(argv[:2]) in parsers else argv[0]
        unknown = {t.split("=")[0] for t in argv if t.startswith("--")} - flags_of(parsers[verb])
        assert not unknown, f"actionlab {' '.join(argv)}: no such flag {unknown}"
        parser.parse_args(argv)  # exits (fails the test) on a bad value or a missing argument


def test_flags_the_prose_says_are_shared_exist_on_each_verb() -> None:
    """'flags of `train`, `compare` and `demo` (`--a --b`)': every one of those flags on every one of those verbs."""
    parsers = verb_parsers()
    claims = re.findall(r"flags of ((?:`[a-z]+`(?:, | and )?)+) \(`([^`]+)`\)", README.replace("\n", " "))
    assert claims, "the README's shared-flags sentence moved: update this test"
    for verbs, flags in claims:
        for verb in re.findall(r"`([a-z]+)`", verbs):
            missing = set(flags.split()) - flags_of(parsers[verb])
            assert not missing, f"README says {verb} has {missing}"
    for flag in set(re.findall(r"`(--[a-z-]+)`", README)):  # any flag in backticks exists on some verb
        assert any(flag in flags_of(p) for p in parsers.values()), flag


def test_readme_blocks_run_as_written(tmp_path: Path) -> None:
    """The bash blocks top to bottom, then the python block saved as a script, in an empty folder with a fresh
    cache."""
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "ACTIONLAB_CACHE": str(tmp_path / "c")}
    lines = [ln for b in blocks("bash") for ln in b.splitlines() if ln.strip() and not ln.startswith(SETUP)]
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=3000)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (work / "runs" / "cmp" / "report.html").is_file() and (work / "predictions.csv").is_file()
    (python,) = blocks("python")
    script = work / "quickstart.py"  # a file, as a user saves it: the DataLoader workers import it
    script.write_text(python)
    ran = subprocess.run([sys.executable, str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=1500)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
