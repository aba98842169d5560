# SPDX-License-Identifier: Apache-2.0
"""The instruction-count TCG plugin (tools/qemu_plugin/insn_count.c): its header from Debian's qemu
source package, and its build."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from mcubert.paths import cache_dir, repo_root
from mcubert.targets.qemu.machines import (
    QEMU,
    PluginHeaderUnavailable,
    QemuError,
    ToolchainMissing,
)
from mcubert.targets.qemu.toolchain import (
    check_prerequisites,
    content_hash,
    host_cc,
    publish_dir,
    qemu_version,
    run_tool,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# qemu-plugin.h (GPL-2.0-or-later: fetched at build time, never committed)

_PLUGIN_H = "include/qemu/qemu-plugin.h"


def _apt_sources_from_system() -> list[str]:
    """deb-src versions of the system's 'deb' entries, one-line format."""
    files = [Path("/etc/apt/sources.list")]
    d = Path("/etc/apt/sources.list.d")
    if d.is_dir():
        files += sorted(d.iterdir())
    lines: list[str] = []
    for f in files:
        if not f.is_file():
            continue
        text = f.read_text(errors="replace")
        if f.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line:
                        continue
                    k, v = line.split(":", 1)
                    fields[k.strip().lower()] = v.strip()
                if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
                    continue
                opts = f" [signed-by={fields['signed-by']}]" if fields.get("signed-by", "").startswith("/") else ""
                for uri in fields.get("uris", "").split():
                    for suite in fields.get("suites", "").split():
                        lines.append(f"deb-src{opts} {uri} {suite} {fields.get('components', '')}".rstrip())
        elif f.suffix == ".list" or f.name == "sources.list":
            for line in text.splitlines():
                line = line.split("#", 1)[0].strip()
                if line.startswith("deb "):
                    lines.append("deb-src " + line[4:])
    return lines


def _dpkg_source_of(package: str) -> tuple[str, str] | None:
    if shutil.which("dpkg-query") is None:
        return None
    res = subprocess.run(["dpkg-query", "-W", "-f=${source:Package} ${source:Version}", package],
                         capture_output=True, text=True, timeout=60)
    parts = res.stdout.split()
    return (parts[0], parts[1]) if res.returncode == 0 and len(parts) == 2 else None


def _upstream_minor(version: str) -> tuple[int, int] | None:
    m = re.match(r"(?:\d+:)?(\d+)\.(\d+)", version)
    return (int(m.group(1)), int(m.group(2))) if m else None


def extract_patch_for(patch: str, path: str) -> str | None:
    """The sections of a unified diff that change @path, or None."""
    marker = r"^diff " if re.search(r"(?m)^diff ", patch) else r"^--- "
    sections = re.split(f"(?m)(?={marker})", patch)
    hits = [sec for sec in sections
            if re.search(rf"(?m)^\+\+\+ \S*{re.escape(path)}(\s|$)", sec)]
    return "".join(hits) or None


def _header_from_source_package(workdir: Path, package: str, version: str | None) -> tuple[bytes, str]:
    """apt-get source (download only, private apt state) and pull out qemu-plugin.h."""
    apt = workdir / "apt"
    for sub in ("lists/partial", "cache/archives/partial", "parts", "dl"):
        (apt / sub).mkdir(parents=True, exist_ok=True)
    sources = _apt_sources_from_system()
    if not sources:
        raise PluginHeaderUnavailable("no apt sources found to derive deb-src entries from (/etc/apt/sources.list*)")
    (apt / "sources.list").write_text("\n".join(sources) + "\n")
    opts = ["-o", f"Dir::Etc::SourceList={apt / 'sources.list'}",
            "-o", f"Dir::Etc::SourceParts={apt / 'parts'}",
            "-o", f"Dir::State::Lists={apt / 'lists'}",
            "-o", f"Dir::Cache={apt / 'cache'}",
            "-o", "Debug::NoLocking=1"]
    try:
        res = subprocess.run(["apt-get", *opts, "update"], capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired as e:
        raise PluginHeaderUnavailable("apt-get update (deb-src) timed out") from e
    if res.returncode != 0:
        log.warning("apt-get update (deb-src) reported errors, trying anyway:\n%s", res.stderr.strip())
    dl = apt / "dl"
    last_err = ""
    for spec in ([f"{package}={version}"] if version else []) + [package]:
        try:
            res = subprocess.run(["apt-get", *opts, "source", "--download-only", spec], cwd=dl,
                                 capture_output=True, text=True, timeout=1800)
        except subprocess.TimeoutExpired as e:
            raise PluginHeaderUnavailable(f"apt-get source {spec} timed out") from e
        if res.returncode == 0:
            break
        last_err = res.stderr.strip()
        log.info("apt-get source %s failed: %s", spec, last_err)
    else:
        raise PluginHeaderUnavailable(f"apt-get source {package} failed (is a deb-src archive reachable?): "
                                      f"{last_err.splitlines()[-1] if last_err else ''}")
    origs = sorted(dl.glob("*.orig.tar.*"))
    dscs = sorted(dl.glob("*.dsc"))
    if not origs or not dscs:
        raise QemuError(f"apt-get source {package} gave no .orig tarball / .dsc in {dl}")
    src_version = dscs[0].stem.split("_", 1)[1] if "_" in dscs[0].stem else ""
    header = None
    with tarfile.open(origs[0], "r:*") as tf:
        for member in tf:
            if member.isfile() and member.name.endswith("/" + _PLUGIN_H):
                f = tf.extractfile(member)
                assert f is not None
                header = f.read()
                break
    if header is None:
        raise QemuError(f"{_PLUGIN_H} not found in {origs[0].name}")
    # Apply the packaging's patches that touch the header (stable updates).
    deb = sorted(dl.glob("*.debian.tar.*"))
    if deb:
        header = _apply_debian_patches(deb[0], header, workdir)
    return header, src_version


def _apply_debian_patches(debian_tar: Path, header: bytes, workdir: Path) -> bytes:
    with tarfile.open(debian_tar, "r:*") as tf:
        members = {m.name: m for m in tf if m.isfile()}

        def read(name: str) -> str | None:
            m = members.get(name)
            f = tf.extractfile(m) if m else None
            return f.read().decode("utf-8", "replace") if f else None

        series = read("debian/patches/series")
        if not series:
            return header
        patches = []
        for line in series.splitlines():
            name = line.split("#", 1)[0].strip().split(" ")[0]
            if name:
                text = read(f"debian/patches/{name}")
                part = extract_patch_for(text, _PLUGIN_H) if text else None
                if part:
                    patches.append((name, part))
    if not patches:
        return header
    if shutil.which("patch") is None:
        raise ToolchainMissing("the Debian patches change qemu-plugin.h and 'patch' is missing (apt-get install patch)")
    tmp = workdir / "patching"
    tmp.mkdir(exist_ok=True)
    target = tmp / "qemu-plugin.h"
    target.write_bytes(header)
    for name, part in patches:
        log.info("applying %s to qemu-plugin.h", name)
        res = subprocess.run(["patch", "-s", "--no-backup-if-mismatch", str(target)], input=part,
                             capture_output=True, text=True, timeout=60)
        if res.returncode != 0:
            raise QemuError(f"applying Debian patch {name} to qemu-plugin.h failed:\n{res.stdout}{res.stderr}")
    return target.read_bytes()


def _plugin_api_version(header: Path) -> int:
    m = re.search(r"#define\s+QEMU_PLUGIN_VERSION\s+(\d+)", header.read_text(errors="replace"))
    if not m:
        raise QemuError(f"{header} does not define QEMU_PLUGIN_VERSION")
    return int(m.group(1))


def fetch_plugin_header(dest: Path | None = None) -> Path:
    """Get qemu-plugin.h matching the installed qemu-system-arm; returns its path.

    Order: $MCUBERT_QEMU_PLUGIN_H; the cache (``<cache>/qemu-plugin/<version>/``);
    a system-wide copy (/usr/include/qemu-plugin.h, /usr/include/qemu/qemu-plugin.h);
    else the distribution's qemu source package, fetched by name with
    ``apt-get source --download-only`` using a private apt state (deb-src
    entries derived from the system's sources; no root needed), of which only
    the header is kept. The header is GPL: it lives in the cache, never in the
    repository. Raises QemuError when its version cannot match the installed QEMU.
    """
    env = os.environ.get("MCUBERT_QEMU_PLUGIN_H")
    if env:
        path = Path(env)
        if not path.is_file():
            raise QemuError(f"MCUBERT_QEMU_PLUGIN_H={env} is not a file")
        return path
    qv = qemu_version()
    src = _dpkg_source_of(QEMU)
    package, version = src if src else ("qemu", None)
    tag = re.sub(r"[^A-Za-z0-9.+~-]", "_", version or f"{qv[0]}.{qv[1]}")
    base = dest or cache_dir() / "qemu-plugin"
    final = base / tag / "qemu-plugin.h"
    if final.is_file():
        return final
    for sys_h in (Path("/usr/include/qemu-plugin.h"), Path("/usr/include/qemu/qemu-plugin.h")):
        if sys_h.is_file():
            log.info("using the system's %s", sys_h)
            return sys_h
    if shutil.which("apt-get") is None:
        raise PluginHeaderUnavailable("qemu-plugin.h is needed and apt-get is not available to fetch the qemu source "
                               "package: set MCUBERT_QEMU_PLUGIN_H to a qemu-plugin.h matching "
                               f"QEMU {qv[0]}.{qv[1]}")
    log.info("fetching qemu-plugin.h from the %s source package %s", package, version or "(latest)")
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base, prefix=".fetch-") as tmp:
        header, src_version = _header_from_source_package(Path(tmp), package, version)
        have = _upstream_minor(src_version)
        if have is not None and have != qv[:2]:
            raise QemuError(f"the {package} source package is {src_version} but qemu-system-arm is "
                            f"{qv[0]}.{qv[1]}: their plugin APIs may differ; set MCUBERT_QEMU_PLUGIN_H")
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        (out_dir / "qemu-plugin.h").write_bytes(header)
        (out_dir / "SOURCE").write_text(f"{package} {src_version} ({_PLUGIN_H}), GPL-2.0-or-later\n")
        final.parent.parent.mkdir(parents=True, exist_ok=True)
        publish_dir(out_dir, final.parent)
    return final


def build_plugin() -> Path:
    """Build the insn_count TCG plugin (cached); returns the .so path."""
    check_prerequisites()
    header = fetch_plugin_header()
    src = repo_root() / "tools" / "qemu_plugin" / "insn_count.c"
    cc = host_cc()
    flags = ["-std=c11", "-O2", "-shared", "-fPIC", "-Wall", "-Wextra"]
    key = content_hash([src, header], [cc, *flags, "%d.%d.%d" % qemu_version()])
    final = cache_dir() / "qemu" / f"plugin-{key}"
    so = final / "insn_count.so"
    if so.is_file():
        return so
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=".plugin-"))
    try:
        run_tool([cc, *flags, f"-I{header.parent}", str(src), "-o", str(tmp / "insn_count.so")],
                  "building the QEMU plugin")
        publish_dir(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("built %s (plugin API %d)", so, _plugin_api_version(header))
    return so


