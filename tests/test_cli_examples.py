"""`flask …` as a Flask user types it: from the repository root without --app (.flaskenv), taken from the docs so
the examples cannot drift from the commands; and a command run elsewhere leaves no var/ folder behind."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "docs" / "operators.md", ROOT / "docs" / "plugins.md", ROOT / "README.md"]


def _console_lines(path: Path) -> list[str]:
    """The `$ flask …` lines of the ```console blocks of a page, in order."""
    blocks = re.findall(r"^```console\n(.*?)^```", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ flask ")]


def _inline_commands(path: Path) -> list[str]:
    """Every `flask …` in inline code or in a table of a page (a line break inside the span counts as a space)."""
    spans = re.findall(r"`(flask [^`]+)`", path.read_text(encoding="utf-8"))
    return [" ".join(span.split()) for span in spans]


def _flask_from_root(command: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FLASK_APP"}  # only .flaskenv may name the app
    return subprocess.run([sys.executable, "-m", "flask", *shlex.split(command)[1:]], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def test_no_documented_command_needs_app():
    commands = [c for page in DOCS for c in _inline_commands(page) + [f"flask {x[6:]}" for x in _console_lines(page)]]
    assert len(commands) > 15
    assert [c for c in commands if "--app" in c] == []


def test_every_documented_command_exists(app):
    runner = app.test_cli_runner()
    seen = set()
    for page in DOCS:
        for command in _inline_commands(page):
            words = []
            for word in command.split()[1:]:
                if not re.fullmatch(r"[a-z][a-z-]*", word):
                    break  # an option, a placeholder or a value: the command path ends here
                words.append(word)
            if tuple(words) in seen or not words:
                continue
            seen.add(tuple(words))
            result = runner.invoke(args=[*words, "--help"])
            assert result.exit_code == 0, f"{page.name}: `{command}` is no command: {result.output[-500:]}"
    assert ("plugins", "db", "revision") in seen and ("tenants", "create") in seen


def test_the_operators_example_session_runs_from_the_repository_root(app, system_db):
    lines = _console_lines(ROOT / "docs" / "operators.md")
    assert any(line.startswith("flask plugins enable --tenant") for line in lines)
    assert any(line.startswith("flask tenants") for line in lines)
    outputs = {}
    for line in lines:
        run = _flask_from_root(line)
        assert run.returncode == 0, f"`{line}` failed:\n{run.stderr[-3000:]}"
        outputs[line] = run.stdout
    assert "carwash\t1.0.0\ton" in outputs["flask plugins list --tenant pine"]
    assert "pine" in outputs["flask tenants list"]
    with system_db.connect() as conn:
        state = conn.execute(text("SELECT p.enabled, p.version FROM tenant_plugins p JOIN tenants t "
                                  "ON t.id = p.tenant_id WHERE t.slug = 'pine' AND p.name = 'carwash'")).one()
    assert tuple(state) == (False, "1.0.0")  # switched on, then off again, as the page does


def test_a_command_run_in_another_folder_leaves_no_var_folder_there(tmp_path, storecrm_services):
    env = {k: v for k, v in os.environ.items() if k not in ("FLASK_APP", "STORECRM_VAR_DIR")}
    run = subprocess.run([sys.executable, "-m", "flask", "--app", "storecrm.wsgi:app", "plugins", "list"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    assert list(tmp_path.iterdir()) == []


def test_the_var_folder_is_the_checkouts_or_the_users_never_the_current_one(tmp_path, monkeypatch):
    from storecrm import config

    monkeypatch.chdir(tmp_path)
    assert config.source_checkout() == ROOT
    assert config.default_var_dir({}) == ROOT / "var"
    monkeypatch.setattr(config, "source_checkout", lambda: None)  # as installed from a wheel
    assert config.default_var_dir({"XDG_DATA_HOME": str(tmp_path / "data")}) == tmp_path / "data" / "storecrm"
    assert config.var_dir({"STORECRM_VAR_DIR": str(tmp_path / "mine")}) == tmp_path / "mine"
    assert not (tmp_path / "var").exists()

