#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An emulated board for Twister's --device-testing: QEMU behind a serial line.

Twister tests a board by starting its serial line, "flashing" the build and reading the
console. For an emulated board farm this script plays both ends:

  serve   the board. Twister starts it as the device's serial line (--device-serial-pty,
          or serial_pty in a hardware map), its stdin/stdout being Twister's pty. It
          announces itself in a mailbox directory, waits for a flash, then runs the build's
          own emulator command (what `west build -t run` runs: `ninja -t commands run`) with
          its console on that pty, until Twister stops it.
  flash   the flasher. Twister runs `west flash`, which for the mps2_an500 board (this
          module's) is the misc-flasher runner calling scripts/hil/qemu-dut-flash BUILD_DIR,
          i.e. this script's `flash`: it hands BUILD_DIR to the waiting board and returns.
  run     run a build's emulator in the foreground (for a look at what the board does).

Both ends find each other through --mailbox DIR (default $MCUBERT_QEMU_DUT_MAILBOX, else
/tmp/mcubert-qemu-dut-$UID/default); one directory per emulated board. `mcubert hil --emulated N`
writes a hardware map with N such boards. Standard library only: it runs under whatever Python
Twister and west use.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

READY = "ready"
FLASH = "flash"


def default_mailbox() -> Path:
    env = os.environ.get("MCUBERT_QEMU_DUT_MAILBOX")
    return Path(env) if env else Path(f"/tmp/mcubert-qemu-dut-{os.getuid()}") / "default"


def run_command(build_dir: Path) -> str:
    """The shell command `west build -t run` would run for this build (QEMU, or native_sim's zephyr.exe)."""
    try:
        out = subprocess.run(["ninja", "-C", str(build_dir), "-t", "commands", "run"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"qemu_dut: {build_dir} has no emulator to run ({e})") from None
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if not lines:
        raise SystemExit(f"qemu_dut: {build_dir}: `ninja -t commands run` is empty")
    # The last command is the emulator itself; the ones before it rebuild the image (already built).
    return lines[-1]


def log(mailbox: Path, msg: str) -> None:
    """Notes go to a file: stdout and stderr are the board's serial line."""
    with open(mailbox / "serve.log", "a") as f:
        f.write(f"{time.strftime('%H:%M:%S')} [{os.getpid()}] {msg}\n")


def serve(mailbox: Path, timeout: float) -> int:
    mailbox.mkdir(parents=True, exist_ok=True)
    (mailbox / FLASH).unlink(missing_ok=True)
    tmp = mailbox / f".{READY}.{os.getpid()}"
    tmp.write_text(str(os.getpid()))
    os.replace(tmp, mailbox / READY)
    log(mailbox, "waiting for a flash")
    child: subprocess.Popen | None = None

    def stop(signum, frame):  # noqa: ARG001
        if child and child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        (mailbox / READY).unlink(missing_ok=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    deadline = time.monotonic() + timeout
    while not (mailbox / FLASH).exists():
        if time.monotonic() > deadline:
            log(mailbox, "no flash came")
            (mailbox / READY).unlink(missing_ok=True)
            return 1
        time.sleep(0.05)
    req = json.loads((mailbox / FLASH).read_text())
    (mailbox / FLASH).unlink()
    (mailbox / READY).unlink(missing_ok=True)
    build_dir = Path(req["build_dir"])
    cmd = run_command(build_dir)
    log(mailbox, f"running {build_dir}: {cmd}")
    # Its own process group, so that stop() ends QEMU and anything it started.
    child = subprocess.Popen(cmd, shell=True, cwd=build_dir, start_new_session=True)
    rc = child.wait()
    log(mailbox, f"emulator exited with {rc}")
    return rc


def flash(build_dir: Path, mailbox: Path, timeout: float) -> int:
    build_dir = build_dir.resolve()
    if not (build_dir / "build.ninja").is_file():
        print(f"qemu-dut-flash: {build_dir} is not a ninja build directory", file=sys.stderr)
        return 1
    deadline = time.monotonic() + timeout
    while not (mailbox / READY).exists():
        if time.monotonic() > deadline:
            print(f"qemu-dut-flash: no emulated board is waiting in {mailbox} (start one with "
                  f"`{Path(__file__).resolve()} serve --mailbox {mailbox}`, or let `mcubert hil --emulated` "
                  "do it; to just run the build: `west build -t run`)", file=sys.stderr)
            return 1
        time.sleep(0.05)
    tmp = mailbox / f".{FLASH}.{os.getpid()}"
    tmp.write_text(json.dumps({"build_dir": str(build_dir), "time": time.time()}))
    os.replace(tmp, mailbox / FLASH)
    while (mailbox / FLASH).exists():
        if time.monotonic() > deadline:
            print(f"qemu-dut-flash: the board in {mailbox} did not take the image", file=sys.stderr)
            return 1
        time.sleep(0.05)
    print(f"qemu-dut-flash: {build_dir} handed to the emulated board in {mailbox}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve", help="be the board: wait for a flash, run its emulator on stdio")
    p.add_argument("--mailbox", type=Path, default=None)
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for a flash (default 600)")
    p = sub.add_parser("flash", help="hand BUILD_DIR to the waiting board")
    p.add_argument("build_dir", type=Path)
    p.add_argument("--mailbox", type=Path, default=None)
    p.add_argument("--timeout", type=float, default=60)
    p = sub.add_parser("run", help="run BUILD_DIR's emulator in the foreground")
    p.add_argument("build_dir", type=Path)
    args = ap.parse_args(argv)
    mailbox = (getattr(args, "mailbox", None) or default_mailbox()).resolve() if args.cmd != "run" else None
    if args.cmd == "serve":
        return serve(mailbox, args.timeout)
    if args.cmd == "flash":
        return flash(args.build_dir, mailbox, args.timeout)
    cmd = run_command(args.build_dir.resolve())
    print(f"qemu_dut: {cmd}", file=sys.stderr)
    return subprocess.call(shlex.split(cmd) if not any(c in cmd for c in "&;|") else ["sh", "-c", cmd],
                           cwd=args.build_dir)


if __name__ == "__main__":
    sys.exit(main())
