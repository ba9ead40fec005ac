"""Quiet logs: what an operator reads when running StoreCRM holds only what matters.

- creating the demo tenant (or any tenant) is routine, not a WARNING about unscoped access;
- each request is logged once (the app's own access line; gunicorn is not asked for a second one);
- installing the package gives no setuptools "Package would be ignored" warnings;
- stopping `make run` with Ctrl-C (or a service manager's SIGTERM) is a normal end: status 0, no "Error 143".
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_loading_the_demo_tenant_logs_no_warning(app, caplog):
    from storecrm.demo.loader import load_demo

    caplog.set_level(logging.INFO, logger="storecrm")
    with app.app_context():
        assert load_demo(customers=40) is True
    warnings = [r for r in caplog.records if r.name.startswith("storecrm") and r.levelno >= logging.WARNING]
    assert not warnings, [r.getMessage() for r in warnings]
    # the crossing of tenants is still on record, at INFO
    assert any("unscoped access: create tenant demo" in r.getMessage() and r.levelno == logging.INFO
               for r in caplog.records)


def test_an_unusual_crossing_of_tenants_still_warns(app, caplog):
    from storecrm.tenancy.scoping import unscoped

    caplog.set_level(logging.INFO, logger="storecrm")
    with app.app_context():
        with unscoped(reason="an operator looks at every tenant's rows"):
            pass
    assert [r.levelno for r in caplog.records if "unscoped access" in r.getMessage()] == [logging.WARNING]


def test_each_request_is_logged_once(two_tenants, login, caplog):
    alpha, _ = two_tenants
    browser = login(alpha, "owner")
    caplog.set_level(logging.INFO)
    caplog.clear()
    browser.get("/t/alpha/customers/")
    lines = [r for r in caplog.records if "/t/alpha/customers/" in r.getMessage()]
    assert len(lines) == 1, [(r.name, r.getMessage()) for r in lines]
    assert lines[0].name == "storecrm.access"


def test_the_web_process_does_not_log_requests_a_second_time():
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    assert "gunicorn" in web and "--access-logfile" not in web and "--access-log" not in web


def test_building_the_package_warns_of_no_ignored_package(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v",
                          "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Package would be ignored" not in out.stdout + out.stderr
    assert "would be ignored" not in out.stdout + out.stderr


def _stack(tmp_path):
    """`devstack supervise` around honcho with two long-running processes, as `make run` runs the real ones."""
    procfile = tmp_path / "Procfile"
    sleeper = f"{sys.executable} -c 'import time; print(\"up\", flush=True); time.sleep(60)'"
    procfile.write_text(f"one: {sleeper}\ntwo: {sleeper}\n")
    return subprocess.Popen([sys.executable, "-m", "storecrm.devstack", "supervise", sys.executable, "-m", "honcho",
                             "-f", str(procfile), "start"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, cwd=tmp_path)


def _wait_until_up(proc):
    seen = 0
    deadline = time.monotonic() + 30
    while seen < 2 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += "up" in line.split("|")[-1]


def test_ctrl_c_stops_the_stack_with_status_0(tmp_path):
    proc = _stack(tmp_path)
    _wait_until_up(proc)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does: the whole foreground group gets SIGINT
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Traceback" not in out


def test_sigterm_from_a_service_manager_stops_the_stack_with_status_0(tmp_path):
    proc = _stack(tmp_path)
    _wait_until_up(proc)
    proc.send_signal(signal.SIGTERM)  # only the top process: it stops honcho, honcho its processes
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Traceback" not in out


def test_make_run_stopped_by_ctrl_c_ends_without_an_error(tmp_path):
    """make reports "Error N" when its recipe ends with status N (honcho's 143 did); the recipe now ends with 0.

    GNU make itself, having received the terminal's SIGINT too, then ends by that same signal (its own design:
    it re-raises a fatal signal after its children are reaped), silently."""
    makefile = tmp_path / "Makefile"
    procfile = tmp_path / "Procfile"
    procfile.write_text(f"one: {sys.executable} -c 'import time; print(\"up\", flush=True); time.sleep(60)'\n")
    makefile.write_text(f"run:\n\t{sys.executable} -m storecrm.devstack supervise {sys.executable} -m honcho "
                        f"-f {procfile} start\n")
    proc = subprocess.Popen(["make", "-s", "-f", str(makefile), "run"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True, cwd=tmp_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "up" not in proc.stdout.readline():
        pass
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode in (0, -signal.SIGINT), out
    assert "Error" not in out and "Interrupt" not in out and "Traceback" not in out
