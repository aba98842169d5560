# SPDX-License-Identifier: Apache-2.0
"""The Zephyr integration: Twister over tests/zephyr and samples/sst2, and the module's build lists.

The quick checks (overlays, the sample's model preparation, the HIL command line, templates and emulated
board) run everywhere, some only when a Zephyr tree is found (ZEPHYR_BASE, or ~/zephyrproject/zephyr, with
a VERSION file). With MCUBERT_ZEPHYR_FULL=1 and a tree (and `west` importable; skips with the reason
otherwise) one focused Twister run (module scope) covers:

* tests/zephyr (kernels, blob, e2e) on qemu_cortex_m3, native_sim, mps2/an521/cpu0, this module's
  QEMU Cortex-M7 board mps2_an500 (portable and DSP kernels) and the Cortex-M55 mps3/corstone300/an547
  (kernels and e2e; the Helium kernels);
* samples/sst2 on the same QEMU boards (on the an547 the model in a DDR partition, the Helium kernels by
  the Kconfig default), and built only for nucleo_f767zi; samples/nlu on mps2_an500 (its intent and slot
  lines equal the host's) and built only for nucleo_f767zi;

then checks that every configuration passed, that the labels the sample prints on the QEMU boards equal
the host runtime's for the same blob and sentences, that `mcubert classify` answers in the M7's shell, that
no floating-point helper is linked into the sample, and where the F767 build puts the model.
The module's boards (mps2_an500) are visible to Twister only when mcubert is a project of the west
workspace (Twister does not read ZEPHYR_EXTRA_MODULES): the test uses such a workspace when it finds
one ($MCUBERT_ZEPHYR_WORKSPACE, the workspace of ZEPHYR_BASE, or ~/mcubert-ws) and otherwise runs
without mps2_an500 (and says so). MCUBERT_ZEPHYR_PLATFORMS (comma-separated) narrows the platforms.
The Twister part: 27 builds (26 run on QEMU/native_sim, 1 built only); before the 7 an547 builds (kernels
and e2e portable / DSP / MVE, the sample) were added, about 13 minutes on a 2-core machine with ccache warm
(measured: 756 s for this file, Twister's QEMU run 465 s);
the output directory is fixed (build/zephyr-tests under the repository, or $MCUBERT_ZEPHYR_OUT) so that a
rerun finds ccache warm; MCUBERT_ZEPHYR_REUSE=1 checks the last run's results again without Twister.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
M7 = "mps2_an500/mcubert_an500"
M55 = "mps3/corstone300/an547"
QEMU_PLATFORMS = ["qemu_cortex_m3/ti_lm3s6965", "native_sim/native", "mps2/an521/cpu0", M7, M55]
BUILD_ONLY = ["nucleo_f767zi/stm32f767xx"]
SAMPLES = ["samples/sst2", "samples/nlu"]
OUT = Path(os.environ.get("MCUBERT_ZEPHYR_OUT") or ROOT / "build" / "zephyr-tests")
SENTENCES = [
    "a gripping , beautifully acted film that stays with you .",
    "the plot is thin and the jokes are painfully flat .",
    "not the best movie of the year , but a lot of fun .",
    "i wanted to like it , but it is a dull , lifeless mess .",
]


# ---------------------------------------------------------------- the module's source lists (no Zephyr needed)

def _cmake_sources(text: str) -> set[str]:
    """Every file named in zephyr_library_sources*() calls (comments dropped)."""
    text = re.sub(r"#[^\n]*", "", text)
    out: set[str] = set()
    for m in re.finditer(r"zephyr_library_sources(?:_ifdef|_ifndef)?\s*\(([^)]*)\)", text):
        words = m.group(1).split()
        if m.group(0).startswith("zephyr_library_sources_if"):
            words = words[1:]  # the Kconfig option
        out |= {w for w in words if w.endswith(".c")}
    return out


def test_cmake_sources_match_c_files():
    """subsys/mcubert/CMakeLists.txt lists exactly the .c files the host build globs (native.c_sources) and the
    Zephyr-only glue under zephyr/ (log module, shell), which the host builds never see."""
    sub = ROOT / "subsys" / "mcubert"
    listed = _cmake_sources((sub / "CMakeLists.txt").read_text())
    host = list(sub.glob("*.c")) + list((sub / "kernels").glob("*.c"))
    glue = list((sub / "zephyr").glob("*.c"))
    assert {p.name for p in glue} >= {"log.c", "shell.c"}
    assert not any("__ZEPHYR__" not in p.read_text() and "zephyr/" in p.read_text() for p in host)
    present = {p.relative_to(sub).as_posix() for p in host + glue}
    assert listed - present == set(), f"listed in CMakeLists.txt but missing: {sorted(listed - present)}"
    assert present - listed == set(), f"C files the Zephyr build leaves out: {sorted(present - listed)}"


def test_cmake_source_parser():
    text = "zephyr_library_sources(\n a.c # b.c\n k/c.c)\nzephyr_library_sources_ifdef(CONFIG_X\n d.c\n)\n"
    assert _cmake_sources(text) == {"a.c", "k/c.c", "d.c"}


# ---------------------------------------------------------------- zephyr-overlay, hil (no Zephyr needed)

def _fake_blob(tmp_path: Path, n: int) -> Path:
    from mcubert.formats import blob

    p = tmp_path / f"b{n}.mcub"
    p.write_bytes(blob.MAGIC + bytes(n - 4))
    return p


@pytest.mark.parametrize("size,sectors,offset,deleted,shrunk", [
    (1000, 1, 0x1C0000, ["scratch_partition"], {}),
    (256 * 1024 + 1, 2, 0x180000, ["scratch_partition"], {"slot1_partition": 0x80000}),
    (1_301_216, 5, 0xC0000, ["slot1_partition", "scratch_partition"], {"slot0_partition": 0x80000}),
    # the BERT-mini-class model (1,950,336 B): 1920 KiB from sector 4; the application keeps sectors 0-3
    (1_950_336, 8, 0x20000, ["slot0_partition", "slot1_partition", "scratch_partition"], {}),
])
def test_overlay_f767(tmp_path, size, sectors, offset, deleted, shrunk):
    """Last whole sectors of the F767's 2 MB; overlapped board partitions deleted or shrunk."""
    from mcubert.targets import zephyr

    text, p = zephyr.overlay_for(_fake_blob(tmp_path, size), "nucleo_f767zi/stm32f767xx")
    assert (p.sectors, p.offset, p.deleted, p.shrunk) == (sectors, offset, deleted, shrunk)
    assert p.size >= size and p.offset + p.size == 2 * 1024 * 1024
    assert f"partition@{offset:x}" in text and "mcubert,model = &mcubert_model_partition;" in text
    for d in deleted:
        assert f"/delete-node/ &{d};" in text
    # the board's chosen code partition (slot0) may not dangle once it is deleted
    assert ("/delete-property/ zephyr,code-partition;" in text) == ("slot0_partition" in deleted)
    assert text.startswith("/*\n * SPDX-License-Identifier: Apache-2.0")


def test_overlay_qemu_psram_and_errors(tmp_path, capsys):
    from mcubert.targets import zephyr

    text, p = zephyr.overlay_for(_fake_blob(tmp_path, 4_655_120), "mps2_an500")
    assert (p.address, p.size % 4096, p.size - 4_655_120 < 4096) == (0x60000000, 0, True)
    assert 'compatible = "fixed-partitions";' in text and "&psram {" in text
    with pytest.raises(zephyr.ZephyrError, match="does not fit|leaves"):
        zephyr.overlay_for(_fake_blob(tmp_path, 4_655_120), "nucleo_f767zi")
    with pytest.raises(zephyr.ZephyrError, match="no flash layout"):
        zephyr.overlay_for(_fake_blob(tmp_path, 100), "frdm_k64f")
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"nope")
    with pytest.raises(zephyr.ZephyrError, match="not an mcubert blob"):
        zephyr.overlay_for(bad, "mps2_an500")


def test_overlay_an547_declares_its_ddr(tmp_path):
    """The an547's devicetree has no node for QEMU's DDR: the overlay declares it (secure alias 0x70000000)
    and puts the partition at its start; the sample's auto placement picks it."""
    from mcubert.targets import flash_layout, zephyr

    text, p = zephyr.overlay_for(_fake_blob(tmp_path, 957_616), M55)
    assert (p.address, p.offset, p.size) == (0x70000000, 0, 234 * 4096)
    assert "ddr: memory@70000000 {" in text and "reg = <0x70000000 0x1000000>;" in text and "&ddr {" in text
    assert flash_layout.find_layout("mps3_corstone300_an547") is flash_layout.find_layout(M55)


def test_overlay_cli(tmp_path, capsys):
    import argparse

    from mcubert.targets import zephyr

    ap = argparse.ArgumentParser()
    zephyr.add_parser(ap.add_subparsers())
    out = tmp_path / "m.overlay"
    args = ap.parse_args(["zephyr-overlay", str(_fake_blob(tmp_path, 5000)), "--board", "frdm_k64f", "-o", str(out),
                          "--flash-node", "flash0", "--flash-base", "0", "--flash-size", "1M", "--erase-size", "4K",
                          "--json"])
    assert args.func(args) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["offset"], r["size"], r["node"]) == (1024 * 1024 - 8192, 8192, "flash0")
    assert "partition@fe000" in out.read_text()
    args = ap.parse_args(["zephyr-overlay", str(tmp_path / "missing.mcub"), "--board", "mps2_an500"])
    assert args.func(args) == 1
    assert "error" in capsys.readouterr().err


def test_hil_dry_run(tmp_path, capsys, monkeypatch):
    import argparse

    from mcubert.targets import hil

    zb = hil.zephyr_base()
    if zb is None:
        pytest.skip("no Zephyr tree: set ZEPHYR_BASE")
    if not hil.mcubert_in_workspace(zb):
        ws = Path.home() / "mcubert-ws" / "zephyr"
        if not hil.mcubert_in_workspace(ws):
            pytest.skip("no west workspace with mcubert as a project (needed for the emulated board)")
        monkeypatch.setenv("ZEPHYR_BASE", str(ws))
    ap = argparse.ArgumentParser()
    hil.add_parser(ap.add_subparsers())
    out = tmp_path / "hil"
    args = ap.parse_args(["hil", "--emulated", "2", "-O", str(out), "-n", "--", "-j", "2"])
    assert args.func(args) == 0
    err = capsys.readouterr().err
    assert "--device-testing --hardware-map" in err and "-p mps2_an500/mcubert_an500" in err and err.endswith("-j 2\n")
    # -n prints the map it would write, and writes nothing
    assert err.count("runner: misc-flasher") == 2 and "qemu_dut.py serve --mailbox=" in err and "not written" in err
    assert not out.exists()
    hw = hil.emulated_map(out, 2).read_text()
    assert hw.count("runner: misc-flasher") == 2 and (out / "duts" / "1").is_dir()


def test_qemu_dut_handshake(tmp_path):
    """The emulated board: `serve` waits in its mailbox, `qemu-dut-flash BUILD` hands it a build, and the
    board runs that build's `run` command (here a stand-in that prints) on its stdout."""
    if shutil.which("ninja") is None:
        pytest.skip("ninja not installed")
    build = tmp_path / "build"
    build.mkdir()
    (build / "build.ninja").write_text("rule say\n  command = echo hello from the emulated board\nbuild run: say\n")
    mailbox = tmp_path / "mb"
    dut = ROOT / "scripts" / "hil" / "qemu_dut.py"
    serve = subprocess.Popen([sys.executable, str(dut), "serve", f"--mailbox={mailbox}", "--timeout", "60"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        flash = subprocess.run([str(ROOT / "scripts" / "hil" / "qemu-dut-flash"), str(build), f"--mailbox={mailbox}",
                                "--timeout", "30"], capture_output=True, text=True, timeout=60)
        assert flash.returncode == 0, flash.stderr
        out, _ = serve.communicate(timeout=60)
    finally:
        serve.kill()
    assert "hello from the emulated board" in out
    assert serve.returncode == 0
    # nobody waiting: the flasher says so and fails
    r = subprocess.run([str(ROOT / "scripts" / "hil" / "qemu-dut-flash"), str(build), f"--mailbox={mailbox}",
                        "--timeout", "0.5"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "no emulated board is waiting" in r.stderr
    # a plain `west flash` (no mailbox named, no board farm): says at once what to do instead
    env = dict(os.environ, MCUBERT_QEMU_DUT_MAILBOX=str(tmp_path / "no-farm"))
    t0 = time.monotonic()
    r = subprocess.run([str(ROOT / "scripts" / "hil" / "qemu-dut-flash"), str(build)], capture_output=True,
                       text=True, timeout=30, env=env)
    assert r.returncode == 1 and "west build -t run" in r.stderr and "emulated board" in r.stderr
    assert time.monotonic() - t0 < 5


def test_sample_model_vocab_in_blob_and_partition(tmp_path):
    """sample-model: the tokenizer's vocabulary is the blob's own VOCAB section (nothing packed apart);
    --partition auto writes an overlay on the boards zephyr-overlay knows only; an explicit vocab.txt is
    packed and embedded apart."""
    from mcubert.formats.vocab import pack_vocab
    from mcubert.targets import zephyr

    packed = pack_vocab(ROOT / "tests" / "fixtures" / "vocab-small.txt")
    r = zephyr.sample_model(tmp_path / "m7", kind="tiny", board="mps2_an500", partition="auto")
    blob = (tmp_path / "m7" / "model.mcub").read_bytes()
    assert zephyr.blob_vocab(blob) == packed
    assert (r["vocab_in_blob"], r["vocab"], r["vocab_bytes"]) == (True, "", len(packed))
    assert not (tmp_path / "m7" / "vocab.mcbv").exists()
    info = (tmp_path / "m7" / "model_info.h").read_text()
    assert "#define MODEL_VOCAB_IN_BLOB 1\n" in info and f"#define MODEL_BLOB_BYTES {len(blob)}u\n" in info
    assert r["overlay"] == str(tmp_path / "m7" / "model.overlay")
    assert (r["placement"]["node"], r["placement"]["address"], r["placement"]["size"]) == ("psram", 0x60000000,
                                                                                           16384)
    cmake = (tmp_path / "m7" / "model.cmake").read_text()
    assert 'set(MCUBERT_SAMPLE_VOCAB "")' in cmake and f'set(MCUBERT_SAMPLE_OVERLAY "{r["overlay"]}")' in cmake

    r = zephyr.sample_model(tmp_path / "m7", kind="tiny", board="qemu_cortex_m3", partition="auto")
    assert r["overlay"] == "" and not (tmp_path / "m7" / "model.overlay").exists()

    r = zephyr.sample_model(tmp_path / "apart", kind="blob", board="native_sim", partition=False,
                            blob=tmp_path / "m7" / "model.mcub", vocab=ROOT / "tests" / "fixtures" / "vocab-small.txt")
    assert (r["vocab_in_blob"], r["vocab_bytes"]) == (False, len(packed))
    assert (tmp_path / "apart" / "vocab.mcbv").read_bytes() == packed
    assert "#define MODEL_VOCAB_IN_BLOB 0\n" in (tmp_path / "apart" / "model_info.h").read_text()


def test_shipped_blobs_match_their_sources():
    """samples/sst2's shipped blobs (what the sample runs by default, no conversion at build time) still have
    the hashes recorded with their sources (model.pt, vocab.txt, calib.txt): the same check as the sample's
    CMake (mcubert_check_blob_sources), which stops a build with a stale blob."""
    from mcubert.targets import zephyr

    for kind, blob in zephyr.SHIPPED_BLOBS.items():
        assert zephyr.check_stamp(blob) == [], f"{blob}: {zephyr.check_stamp(blob)}"
    assert zephyr.shipped_blob("qemu_cortex_m3/ti_lm3s6965") == zephyr.SHIPPED_BLOBS["tiny"]
    assert zephyr.shipped_blob("nucleo_f767zi") == zephyr.SHIPPED_BLOBS["compressed"]
    stamp = zephyr.stamp_path(zephyr.SHIPPED_BLOBS["compressed"]).read_text()
    assert "  model.pt\n" in stamp and "  model.mcub\n" in stamp


def test_stamp_detects_a_changed_source(tmp_path):
    from mcubert.targets import zephyr

    src, blob = tmp_path / "model.pt", tmp_path / "model.mcub"
    src.write_bytes(b"weights")
    blob.write_bytes(b"MCUBblob")
    assert zephyr.main(["stamp", str(blob), str(src)]) == 0
    assert zephyr.check_stamp(blob) == [] and zephyr.main(["stamp", "--check", str(blob)]) == 0
    src.write_bytes(b"new weights")
    assert zephyr.check_stamp(blob) == ["model.pt: changed"]
    assert zephyr.main(["stamp", "--check", str(blob)]) == 1


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed")
def test_cmake_check_blob_sources(tmp_path):
    """cmake/mcubert.cmake's mcubert_check_blob_sources(): quiet on a current blob, stops on a stale one,
    only warns with WARNING (plain CMake, no Zephyr)."""
    from mcubert.targets import zephyr

    src, blob = tmp_path / "model.pt", tmp_path / "model.mcub"
    src.write_bytes(b"weights")
    blob.write_bytes(b"MCUBblob")
    zephyr.write_stamp(blob, [src])
    script = tmp_path / "check.cmake"

    def check(*args: str) -> subprocess.CompletedProcess:
        script.write_text(f'include("{ROOT / "cmake" / "mcubert.cmake"}")\n'
                          f'mcubert_check_blob_sources("{blob}" {" ".join(args)})\n')
        return subprocess.run(["cmake", "-P", str(script)], capture_output=True, text=True)

    r = check()
    assert r.returncode == 0 and "matches its sources" in r.stdout + r.stderr
    src.write_bytes(b"retrained")
    r = check()
    assert r.returncode != 0 and "model.pt: changed since the blob was made" in r.stderr
    r = check("WARNING")
    assert r.returncode == 0 and "model.pt: changed" in r.stderr


def test_sample_model_from_shipped_blob_needs_no_torch(tmp_path):
    """What the sample's CMake runs by default (the shipped blob) works in a Python without PyTorch,
    safetensors or tokenizers (numpy only): they are made unimportable in the child."""
    code = ("import sys\n"
            "for m in ('torch', 'safetensors', 'tokenizers', 'transformers', 'matplotlib'): sys.modules[m] = None\n"
            "from mcubert.targets import zephyr\n"
            "sys.exit(zephyr.main(sys.argv[1:]))\n")
    for board, kind in (("nucleo_f767zi", "compressed"), ("qemu_cortex_m3", "tiny")):
        out = tmp_path / board
        r = subprocess.run([sys.executable, "-c", code, "sample-model", "--out", str(out), "--board", board,
                            "--kind", "blob", "--blob", str(ROOT / "samples" / "sst2" / kind / "model.mcub"),
                            "--partition", "auto"], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=str(ROOT / "scripts")))
        assert r.returncode == 0, r.stderr
        assert (out / "model_info.h").is_file() and (out / "model.cmake").is_file()
        assert (out / "model.overlay").is_file() == (board == "nucleo_f767zi")


@pytest.mark.parametrize("argv,expected", [([], False), (["--partition"], True), (["--partition", "on"], True),
                                           (["--partition", "off"], False), (["--partition", "auto"], "auto")])
def test_sample_model_partition_option(tmp_path, monkeypatch, capsys, argv, expected):
    from mcubert.targets import zephyr

    seen = {}

    def fake(out, **kw):
        seen.update(kw)
        return {"ok": True}

    monkeypatch.setattr(zephyr, "sample_model", fake)
    assert zephyr.main(["sample-model", "--out", str(tmp_path), "--kind", "tiny", *argv]) == 0
    assert seen["partition"] == expected
    assert json.loads(capsys.readouterr().out) == {"ok": True}


def test_hil_templates():
    """The hardware map template (openocd or jlink: what Twister hardware maps support for the F767) and the
    example board-farm workflow (an emulated job, then the board) are well formed."""
    import yaml

    hw = yaml.safe_load((ROOT / "scripts" / "hil" / "nucleo_f767zi-map.yml").read_text())
    assert len(hw) == 1 and hw[0]["platform"] == "nucleo_f767zi/stm32f767xx" and hw[0]["runner"] in ("openocd", "jlink")
    assert {"connected", "id", "product", "serial"} <= set(hw[0])
    zb = _zephyr_base()
    if zb is not None:
        # Twister's own schema for hardware maps
        sys.path.insert(0, str(zb / "scripts" / "pylib" / "twister"))
        try:
            import scl

            scl.yaml_load_verify(ROOT / "scripts" / "hil" / "nucleo_f767zi-map.yml",
                                 scl.yaml_load(zb / "scripts" / "schemas" / "twister" / "hwmap-schema.yaml"))
        finally:
            sys.path.pop(0)
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "hil.yml").read_text())
    jobs = wf["jobs"]
    assert list(jobs) == ["emulated", "nucleo_f767zi"] and jobs["nucleo_f767zi"]["needs"] == "emulated"
    for job in jobs.values():
        assert "self-hosted" in job["runs-on"]
    steps = " ".join(st.get("run", "") for st in jobs["emulated"]["steps"])
    assert "mcubert hil --emulated 2" in steps
    steps = " ".join(st.get("run", "") for st in jobs["nucleo_f767zi"]["steps"])
    assert "mcubert hil" in steps and "--hardware-map" in steps


# ---------------------------------------------------------------- finding Zephyr

def _zephyr_base() -> Path | None:
    for cand in (os.environ.get("ZEPHYR_BASE"), str(Path.home() / "zephyrproject" / "zephyr")):
        if cand and (Path(cand) / "VERSION").is_file() and (Path(cand) / "scripts" / "twister").is_file():
            return Path(cand).resolve()
    return None


def _workspace_has_mcubert(zbase: Path) -> bool:
    """Whether mcubert is a project of zbase's west workspace (then Twister sees its boards)."""
    from mcubert.targets.hil import mcubert_in_workspace

    return mcubert_in_workspace(zbase)


def _setup() -> tuple[Path, bool, str]:
    """(ZEPHYR_BASE, mcubert is a workspace project, note) or skip."""
    try:
        import west  # noqa: F401
    except ImportError:
        pytest.skip("no Zephyr tree: `west` is not importable (pip install west; set ZEPHYR_BASE to a Zephyr "
                    "checkout)")
    cands = []
    if os.environ.get("MCUBERT_ZEPHYR_WORKSPACE"):
        cands.append(Path(os.environ["MCUBERT_ZEPHYR_WORKSPACE"]) / "zephyr")
    zb = _zephyr_base()
    if zb:
        cands.append(zb)
    cands.append(Path.home() / "mcubert-ws" / "zephyr")
    for c in cands:
        if (c / "VERSION").is_file() and _workspace_has_mcubert(c):
            return c.resolve(), True, f"west workspace of {c}"
    if zb is None:
        pytest.skip("no Zephyr tree: set ZEPHYR_BASE to a Zephyr checkout (or put one at ~/zephyrproject/zephyr)")
    return zb, False, (f"{zb} with ZEPHYR_EXTRA_MODULES (mcubert is not a project of its west workspace, so "
                       "Twister cannot see the mps2_an500 board: it is left out)")


def _env(zbase: Path) -> dict[str, str]:
    env = dict(os.environ, ZEPHYR_BASE=str(zbase))
    if "ZEPHYR_TOOLCHAIN_VARIANT" not in env and shutil.which("arm-none-eabi-gcc"):
        env["ZEPHYR_TOOLCHAIN_VARIANT"] = "gnuarmemb"
        env["GNUARMEMB_TOOLCHAIN_PATH"] = str(Path(shutil.which("arm-none-eabi-gcc")).resolve().parents[1])
    return env


def _platforms(in_workspace: bool) -> tuple[list[str], list[str]]:
    """QEMU platforms to run and platforms to build only (MCUBERT_ZEPHYR_PLATFORMS narrows them)."""
    run = [p for p in QEMU_PLATFORMS if in_workspace or p != M7]
    build = list(BUILD_ONLY)
    narrow = os.environ.get("MCUBERT_ZEPHYR_PLATFORMS")
    if narrow:
        keep = {p.strip() for p in narrow.split(",") if p.strip()}
        sel = lambda p: p in keep or p.split("/")[0] in keep  # noqa: E731
        run, build = [p for p in run if sel(p)], [p for p in build if sel(p)]
    return run, build


def _twister(zbase: Path, env: dict[str, str], out: Path, roots: list[str], platforms: list[str],
             extra_module: bool, *args: str) -> tuple[int, dict]:
    cmd = [sys.executable, str(zbase / "scripts" / "twister"), "-O", str(out), "--clobber-output", "-j", "2",
           "--inline-logs", *[a for r in roots for a in ("-T", str(ROOT / r))],
           *[a for p in platforms for a in ("-p", p)], *args]
    if extra_module:
        cmd += ["-x", f"ZEPHYR_EXTRA_MODULES={ROOT}"]
    log = out.parent / (out.name + ".log")
    out.parent.mkdir(parents=True, exist_ok=True)
    report = out / "twister.json"
    report.unlink(missing_ok=True)  # a Twister that fails to start must not leave the last run's report
    with open(log, "w") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        rc = subprocess.call(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)
    return rc, (json.loads(report.read_text()) if report.is_file() else {})


@pytest.fixture(scope="module")
def twister():
    """The Twister runs (once per session of this module); skips when no Zephyr tree is found.

    The full Twister pass (ztest suites and the sample on the QEMU boards, nucleo_f767zi build) takes 10-20
    minutes on a 2-core machine; it runs when MCUBERT_ZEPHYR_FULL=1. The quick Zephyr checks above run
    whenever a Zephyr tree is found.
    """
    zbase, in_ws, note = _setup()  # skips, saying so, when there is no Zephyr tree
    if os.environ.get("MCUBERT_ZEPHYR_FULL") != "1":
        pytest.skip(f"full Twister run skipped (Zephyr tree {zbase}): set MCUBERT_ZEPHYR_FULL=1 to build and run "
                    "the ztest suites and samples/sst2 on the QEMU boards (10-20 min)")
    env = _env(zbase)
    run, build = _platforms(in_ws)
    results = {"zephyr_base": zbase, "note": note, "env": env, "runs": {}}
    if os.environ.get("MCUBERT_ZEPHYR_REUSE") == "1":
        # Check the results of the last Twister run again without rebuilding (when iterating on the checks).
        for name in ("qemu", "build"):
            report = OUT / name / "twister.json"
            if report.is_file():
                results["runs"][name] = (0, json.loads(report.read_text()))
        if results["runs"]:
            return results
    if run:
        results["runs"]["qemu"] = _twister(zbase, env, OUT / "qemu", ["tests/zephyr", *SAMPLES], run, not in_ws)
    if build:
        results["runs"]["build"] = _twister(zbase, env, OUT / "build", SAMPLES, build, not in_ws, "--build-only")
    return results


def _suites(report: dict) -> list[dict]:
    return report.get("testsuites", [])


@pytest.mark.zephyr
def test_twister_passes(twister):
    print(twister["note"])
    bad = []
    for name, (rc, report) in twister["runs"].items():
        assert report, f"twister ({name}) wrote no report (exit {rc}); see {OUT / (name + '.log')}"
        for ts in _suites(report):
            status = ts.get("status")
            print(f"  {ts.get('platform'):32s} {ts.get('name'):52s} {status}")
            if status not in ("passed", "filtered", "skipped", "not run"):
                bad.append(f"{ts.get('platform')} {ts.get('name')}: {status} ({ts.get('reason')})")
        assert rc == 0 or bad, f"twister ({name}) exited {rc}; see {OUT / (name + '.log')}"
    assert not bad, "\n".join(bad)


def _sample_build(twister, platform: str, name: str = "sample.mcubert.sst2") -> Path:
    rc, report = twister["runs"].get("qemu", (None, {}))
    for ts in _suites(report):
        if ts.get("platform") == platform and ts.get("name", "").split("/")[-1] == name:
            if ts.get("status") != "passed":
                pytest.fail(f"the sample did not pass on {platform}")
            base = OUT / "qemu" / platform.replace("/", "_")
            hits = sorted(p for p in base.glob(f"**/{name}") if (p / "handler.log").is_file())
            assert hits, f"no build of the sample under {base}"
            return hits[0]
    pytest.skip(f"the sample did not run on {platform} here")


def _host_labels(blob: Path) -> list[str]:
    out = []
    for s in SENTENCES:
        r = subprocess.run([sys.executable, "-m", "mcubert", "run", str(blob), s, "--json"], capture_output=True,
                           text=True, check=True, env=dict(os.environ, PYTHONPATH=str(ROOT / "scripts")))
        out.append(json.loads(r.stdout)["label_name"])
    return out


@pytest.mark.zephyr
@pytest.mark.parametrize("platform", [M7, "native_sim/native", "mps2/an521/cpu0", M55])
def test_sample_labels_equal_host(twister, platform):
    build = _sample_build(twister, platform)
    log = (build / "handler.log").read_text(errors="replace")
    board = dict(re.findall(r"^\[(\d)\] label \d+ (\S+),", log, flags=re.M))
    labels = [board.get(str(i + 1)) for i in range(len(SENTENCES))]
    host = _host_labels(build / "mcubert" / "model.mcub")
    print(f"{platform}: board {labels}, host {host}")
    assert labels == host


def _shell_lines(build: Path, command: str, answer: str) -> list[str]:
    """Boot a QEMU build to its shell, type `command`, and return the console lines once one matches the
    regular expression `answer` (the sample's output before it included)."""
    cmd = subprocess.run(["ninja", "-C", str(build), "-t", "commands", "run"], capture_output=True, text=True,
                         check=True).stdout.strip().splitlines()[-1]
    # Twister's builds give QEMU its console on a fifo (QEMU_PIPE); here it is this process's stdin/stdout.
    cmd = re.sub(r"-chardev pipe,id=con,mux=on,path=\S+", "-chardev stdio,id=con,mux=on", cmd)
    assert "-chardev stdio,id=con" in cmd, cmd
    proc = subprocess.Popen(cmd, shell=True, cwd=build, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    seen: list[str] = []
    got = threading.Event()

    def reader() -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            seen.append(raw.decode(errors="replace"))
            if re.search(answer, seen[-1]):
                got.set()

    threading.Thread(target=reader, daemon=True).start()
    try:
        deadline = time.monotonic() + 240
        while not any("mcubert sample done" in s for s in seen) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        assert proc.stdin is not None
        proc.stdin.write(f"{command}\r".encode())
        proc.stdin.flush()
        assert got.wait(max(1.0, deadline - time.monotonic())), "".join(seen[-20:])
        time.sleep(1)  # the lines after the first answer line
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(10)
    return [re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", s).replace("\r", "").rstrip("\n") for s in seen]


@pytest.mark.zephyr
def test_shell_classify_on_m7(twister):
    """`mcubert classify ...` (the module's shell, on the sample's model) typed into the shell of the QEMU M7
    answers with the host's label."""
    build = _sample_build(twister, M7)
    text = "a gripping , funny film"
    seen = _shell_lines(build, f"mcubert classify {text}", r"^label \d+ \S+, \d+ tokens")
    line = next(s for s in seen if re.match(r"label \d+ \S+, \d+ tokens", s))
    label = re.match(r"label \d+ (\S+),", line).group(1)
    host = _host_labels_for(build / "mcubert" / "model.mcub", text)
    print(f"shell on {M7}: mcubert classify {text!r} -> {label} (host {host})")
    assert label == host


@pytest.mark.zephyr
def test_shell_nlu_on_m7(twister):
    """`nlu <text>` typed into samples/nlu's shell on the QEMU M7 prints the host's intent and slot lines."""
    from mcubert.targets.nlu import console_lines

    build = _sample_build(twister, M7, "sample.mcubert.nlu")
    text = "will it rain in paris tomorrow"
    seen = _shell_lines(build, f"nlu {text}", r"time: |time \d+ cycles")
    i = max(k for k, s in enumerate(seen) if s.endswith(f"nlu {text}"))
    got = [re.sub(r"^.*uart:~\$ ", "", s) for s in seen[i + 1:] if re.search(r"(intent |slot )", s)]
    r = subprocess.run([sys.executable, "-m", "mcubert", "run", str(build / "mcubert" / "model.mcub"), text,
                        "--json"], capture_output=True, text=True, check=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT / "scripts")))
    want = console_lines(json.loads(r.stdout))
    print("\n".join(got))
    assert got == want


@pytest.mark.zephyr
def test_nlu_sample_lines_equal_host(twister):
    """samples/nlu on the QEMU M7: every command's text, intent and slot line equals the host's
    (`mcubert run BLOB TEXT --json` on the blob the build ran, formatted by samples/nlu/expected.py)."""
    import importlib.util

    build = _sample_build(twister, M7, "sample.mcubert.nlu")
    log = (build / "handler.log").read_text(encoding="utf-8", errors="replace").replace("\r", "")
    got = [ln for ln in log.splitlines() if re.match(r'^\[\d+\] (intent |slot |")', ln)]
    spec = importlib.util.spec_from_file_location("nlu_expected", ROOT / "samples" / "nlu" / "expected.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    want = mod.expected_lines(build / "mcubert" / "model.mcub")
    print("\n".join(got))
    assert got == want


def _host_labels_for(blob: Path, text: str) -> str:
    r = subprocess.run([sys.executable, "-m", "mcubert", "run", str(blob), text, "--json"], capture_output=True,
                       text=True, check=True, env=dict(os.environ, PYTHONPATH=str(ROOT / "scripts")))
    return json.loads(r.stdout)["label_name"]


SOFT_FLOAT = re.compile(r"^__aeabi_(?:d|f)[a-z0-9]+$|^__aeabi_u?[il]2[df]$"
                        r"|^__(?:fix|fixuns|float|floatun)[sdt]?[fis][a-z]*$")


@pytest.mark.zephyr
def test_sample_has_no_soft_float(twister):
    """The sample prints confidences and logits with integer arithmetic: no floating-point helper of libgcc
    (e.g. __aeabi_d2uiz from _arm_fixunsdfsi.o, whose missing .note.GNU-stack fails --fatal-warnings) is
    linked into it on any Cortex-M board, and its builds log no warning."""
    nm = shutil.which("arm-none-eabi-nm")
    if nm is None:
        pytest.skip("arm-none-eabi-nm not installed")
    elves = [p for p in OUT.glob("*/*/**/sample.mcubert.*/zephyr/zephyr.elf") if "native_sim" not in str(p)]
    if not elves:
        pytest.skip("no Cortex-M build of the sample here")
    for elf in elves:
        syms = subprocess.run([nm, "--defined-only", str(elf)], capture_output=True, text=True, check=True).stdout
        fp = sorted({line.split()[-1] for line in syms.splitlines() if SOFT_FLOAT.match(line.split()[-1])})
        assert fp == [], f"{elf}: floating-point helpers {fp}"
        log = (elf.parents[1] / "build.log").read_text(errors="replace")
        assert not re.search(r"warning:", log), f"{elf.parents[1] / 'build.log'}: warnings"
    print(f"no floating-point helpers in {len(elves)} Cortex-M builds of the sample")


def test_soft_float_pattern():
    assert all(SOFT_FLOAT.match(s) for s in ("__aeabi_d2uiz", "__aeabi_dmul", "__aeabi_fadd", "__aeabi_ui2d",
                                             "__aeabi_l2f", "__fixunsdfsi", "__floatsidf"))
    assert not any(SOFT_FLOAT.match(s) for s in ("__aeabi_uldivmod", "__aeabi_ldivmod", "__aeabi_memcpy4",
                                                 "__aeabi_idiv0", "__popcountsi2"))


@pytest.mark.zephyr
def test_f767_builds_and_fits(twister):
    """nucleo_f767zi (built only): the model sits in its flash partition, the application below it."""
    rc, report = twister["runs"].get("build", (None, {}))
    suites = [ts for ts in _suites(report) if ts.get("name", "").endswith("sample.mcubert.sst2")]
    if not suites:
        pytest.skip("nucleo_f767zi not selected")
    ts = suites[0]
    assert ts["status"] in ("passed", "not run"), ts
    build = next((OUT / "build").glob("nucleo_f767zi*/**/sample.mcubert.sst2"))
    overlay = (build / "mcubert" / "model.overlay").read_text()
    part = re.search(r"reg = <(0x[0-9a-f]+) (0x[0-9a-f]+)>;\s*read-only", overlay)
    assert part, overlay
    model_addr = 0x08000000 + int(part.group(1), 16)
    stat = (build / "zephyr" / "zephyr.stat").read_text()
    sec = re.search(r"\.mcubert_model\s+PROGBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", stat)
    assert sec, "the model partition is not in the image"
    assert int(sec.group(1), 16) == model_addr
    assert int(sec.group(2), 16) == (build / "mcubert" / "model.mcub").stat().st_size
    # everything else in flash ends below the model
    ends = [int(a, 16) + int(n, 16) for name, a, n in
            re.findall(r"\] (\S+)\s+PROGBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", stat)
            if name != ".mcubert_model" and 0x08000000 <= int(a, 16) < 0x08200000]
    assert max(ends) <= model_addr
    mem = dict(re.findall(r"^\s*(FLASH|RAM|DTCM):\s+(\d+ [KMG]?B)", (build / "build.log").read_text(errors="replace"),
                          flags=re.M))
    assert set(mem) == {"FLASH", "RAM", "DTCM"}, mem
    print(f"nucleo_f767zi: application flash up to 0x{max(ends):08x}, model at 0x{model_addr:08x} "
          f"({int(sec.group(2), 16):,} B); memory report FLASH {mem['FLASH']}, RAM {mem['RAM']}, DTCM {mem['DTCM']}")


def test_west_mcubert_without_tooling_says_what_to_install(tmp_path):
    """`west mcubert convert` in Zephyr's Python (no PyTorch) stops with one line naming the install command,
    not a traceback; `west mcubert zephyr-overlay` works there."""
    pytest.importorskip("west")
    code = ("import sys, argparse\n"
            "sys.modules['torch'] = None\n"
            f"sys.path.insert(0, {str(ROOT / 'scripts' / 'west_commands')!r})\n"
            "import mcubert_west\n"
            "from west.configuration import Configuration\n"
            "cmd = mcubert_west.McubertCommand()\n"
            "cmd.config = Configuration()\n"
            "cmd.do_run(argparse.Namespace(args=sys.argv[1:]), [])\n")
    r = subprocess.run([sys.executable, "-c", code, "convert", str(ROOT / "samples" / "sst2" / "model"), "-o",
                        str(tmp_path / "m.mcub")], capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "needs the mcubert tooling" in r.stdout + r.stderr and "pip install -e" in r.stdout + r.stderr
    blob = ROOT / "samples" / "sst2" / "tiny" / "model.mcub"
    r = subprocess.run([sys.executable, "-c", code, "zephyr-overlay", str(blob), "--board", "mps2_an500"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "mcubert_model_partition" in r.stdout, r.stderr
