# SPDX-License-Identifier: Apache-2.0
"""Fuzz targets of the C runtime (tests/fuzz): build, run, replay.

Each target is a libFuzzer program (`LLVMFuzzerTestOneInput`) built with clang and
AddressSanitizer + UndefinedBehaviorSanitizer, every report fatal, over the same C sources as
the host runtime (targets/native.py). Builds are cached by a hash of the sources and flags.

- `build(name)` compiles a target (the runtime once into an archive, then one link per target);
- `run(name, seconds=…, runs=…)` runs libFuzzer once and parses its statistics (executions,
  `cov:` edges, `ft:` features, corpus size) and any finding (the sanitizer's SUMMARY line and
  the reproducer libFuzzer wrote);
- `campaign(name, seconds=…)` runs until the time or executions are spent, restarting after a
  finding, minimizing each reproducer into tests/fuzz/<target>/crashes-pending/;
- `replay(name, files)` runs given inputs once each (seed corpora and regressions).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from mcubert.formats.vocab import pack_vocab
from mcubert.paths import cache_dir, repo_root
from mcubert.targets import native

log = logging.getLogger(__name__)


class FuzzError(RuntimeError):
    """The fuzz targets cannot be built or run here (no clang with libFuzzer, a failed build)."""


@dataclasses.dataclass(frozen=True)
class Target:
    """A fuzz target: its C file in tests/fuzz, its seed directories, its input size limit."""

    name: str
    source: str
    seeds: tuple[str, ...]
    max_len: int


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("blob_raw", "fuzz_blob_raw.c", ("blob_raw/seeds",), 65536),
    Target("blob_struct", "fuzz_blob_struct.c", ("blob_raw/seeds", "blob_struct/seeds"), 65536),
    Target("vocab", "fuzz_vocab.c", ("vocab/seeds",), 16384),
    Target("tokenizer", "fuzz_tokenizer.c", ("tokenizer/seeds",), 8192),
)}

#: ASan + UBSan with every check fatal (UBSan's `undefined` group includes shift-base and
#: shift-exponent, signed overflow, alignment, pointer overflow, out-of-bounds indexing).
SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
FUZZ_CFLAGS = ["-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", *SANITIZE_FLAGS]
#: Sanitizer options at run time: abort on the first report, with a stack trace.
SANITIZER_ENV = {
    "ASAN_OPTIONS": "abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
#: $MCUBERT_FUZZ_ALLOW: UBSan checks (comma-separated, e.g. shift-base) left out of the runtime's
#: instrumentation, so a campaign gets past findings already handed over (crashes-pending/).
ALLOW_ENV = "MCUBERT_FUZZ_ALLOW"
# libFuzzer's timeout (s) for one input: a slower one is a finding (a hang).
UNIT_TIMEOUT_S = 10
FUZZ_DIR = Path("tests") / "fuzz"
# Most crash inputs of one campaign replayed to sort them by location (most are the same finding again).
TRIAGE_MAX = 300
VOCAB_FIXTURE = Path("tests") / "fixtures" / "vocab-small.txt"


@dataclasses.dataclass
class Finding:
    """One crash, sanitizer report or broken contract: the input and the one-line summary."""

    target: str
    reproducer: Path | None
    summary: str
    check: str | None = None  # the UBSan check that fired (e.g. shift-base), when it is one

    @property
    def where(self) -> str:
        """The source location the summary names (file:line:column), else the whole summary."""
        m = re.search(r"((?:subsys|include|tests)/\S+?:\d+(?::\d+)?)", self.summary)
        return m.group(1) if m else self.summary


@dataclasses.dataclass
class Stats:
    """What one run (or a campaign of runs) of a target did."""

    target: str
    execs: int = 0
    seconds: float = 0.0
    cov: int = 0
    ft: int = 0
    corpus: int = 0
    runs: int = 0
    findings: list[Finding] = dataclasses.field(default_factory=list)

    @property
    def execs_per_s(self) -> float:
        return self.execs / self.seconds if self.seconds > 0 else 0.0


def fuzz_dir() -> Path:
    return repo_root() / FUZZ_DIR


def compiler() -> str:
    """A clang that has libFuzzer: $MCUBERT_FUZZ_CC, else clang-16 or clang; FuzzError if none."""
    cands = [os.environ["MCUBERT_FUZZ_CC"]] if os.environ.get("MCUBERT_FUZZ_CC") else ["clang-16", "clang"]
    for cc in cands:
        if shutil.which(cc) is None:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "probe.c"
            src.write_text("#include <stddef.h>\n#include <stdint.h>\n"
                           "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n")
            res = subprocess.run([cc, "-fsanitize=fuzzer,address,undefined", str(src), "-o", str(Path(tmp) / "p")],
                                 capture_output=True, text=True)
            if res.returncode == 0:
                return cc
            log.info("%s has no libFuzzer: %s", cc, res.stderr.strip().splitlines()[-1:])
    raise FuzzError(f"no clang with libFuzzer found (tried {', '.join(cands)}): "
                    "apt-get install clang-16 libclang-rt-16-dev, or set MCUBERT_FUZZ_CC")


def allowed_checks() -> list[str]:
    """The UBSan checks $MCUBERT_FUZZ_ALLOW leaves out (none by default: every check is fatal)."""
    return [c.strip() for c in os.environ.get(ALLOW_ENV, "").split(",") if c.strip()]


def available() -> str | None:
    """None when the fuzz targets can be built here, else why not (one line)."""
    try:
        compiler()
    except FuzzError as e:
        return str(e)
    return None


def _compile(cmd: list[str], what: str) -> None:
    log.info("building %s: %s", what, " ".join(cmd))
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise FuzzError(f"building {what} failed:\n{res.stderr}")


def _runtime_archive(cc: str, build: Path, allow: list[str]) -> Path:
    """The runtime's C files compiled for fuzzing (instrumented, not linked with libFuzzer's main)."""
    root = repo_root()
    srcs = native.c_sources(root)
    flags = [*FUZZ_CFLAGS, "-fsanitize=fuzzer-no-link", *(f"-fno-sanitize={c}" for c in allow),
             *(f"-I{d}" for d in native.include_dirs(root))]
    key = native.tree_hash(srcs + native.header_files(root), " ".join([cc, *flags]))
    out = build / f"libmcubert-fuzz-{key}.a"
    if out.exists():
        return out
    objs = build / f"obj-{key}"
    objs.mkdir(parents=True, exist_ok=True)
    for src in srcs:
        _compile([cc, *flags, "-c", str(src), "-o", str(objs / (src.stem + ".o"))], src.name)
    tmp = Path(str(out) + ".tmp")
    tmp.unlink(missing_ok=True)
    subprocess.run(["ar", "rcs", str(tmp), *sorted(map(str, objs.glob("*.o")))], check=True)
    os.replace(tmp, out)
    return out


def vocab_image_header() -> str:
    """fuzz_vocab_image.h: the packed tests/fixtures/vocab-small.txt as a C array (the tokenizer target's)."""
    image = pack_vocab(repo_root() / VOCAB_FIXTURE)
    rows = [", ".join(f"0x{b:02x}" for b in image[i:i + 16]) for i in range(0, len(image), 16)]
    body = ",\n\t".join(rows)
    return ("/* SPDX-License-Identifier: Apache-2.0 */\n/* GENERATED by mcubert.targets.fuzz at build time. */\n"
            "#include <stdint.h>\n"
            f"static const uint8_t fuzz_vocab_image[{len(image)}] __attribute__((aligned(4))) = {{\n\t{body}\n}};\n")


def build(name: str, allow: list[str] | None = None) -> Path:
    """Compile one fuzz target (cached); returns the executable.

    `allow`: UBSan checks left out of the runtime (default $MCUBERT_FUZZ_ALLOW, normally none).
    """
    target = TARGETS[name]
    cc = compiler()
    root = repo_root()
    build_dir = cache_dir() / "fuzz"
    build_dir.mkdir(parents=True, exist_ok=True)
    lib = _runtime_archive(cc, build_dir, allowed_checks() if allow is None else allow)
    fdir = fuzz_dir()
    srcs = [fdir / target.source, fdir / "fuzz_common.c"]
    vocab_h = vocab_image_header()
    flags = [*FUZZ_CFLAGS, "-fsanitize=fuzzer", *(f"-I{d}" for d in native.include_dirs(root))]
    key = native.tree_hash(srcs + [fdir / "fuzz_common.h"], " ".join([cc, *flags, lib.name, vocab_h]))
    out = build_dir / f"fuzz_{name}-{key}"
    if out.exists():
        return out
    gen = build_dir / f"gen-{key}"
    gen.mkdir(exist_ok=True)
    (gen / "fuzz_vocab_image.h").write_text(vocab_h)
    tmp = Path(str(out) + ".tmp")
    _compile([cc, *flags, f"-I{gen}", "-o", str(tmp), *map(str, srcs), str(lib)], f"fuzz_{name}")
    os.replace(tmp, out)
    return out


def seed_dirs(name: str) -> list[Path]:
    """The checked-in seed corpora of a target that exist."""
    return [d for d in (fuzz_dir() / s for s in TARGETS[name].seeds) if d.is_dir()]


def regression_files(name: str) -> list[Path]:
    """Reproducers kept as regression tests: tests/fuzz/<target>/regressions/*."""
    d = fuzz_dir() / name / "regressions"
    return sorted(p for p in d.glob("*") if p.is_file() and not p.name.startswith(".")) if d.is_dir() else []


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)  # the sanitized pytest run preloads gcc's ASan; the targets link clang's
    env.update(SANITIZER_ENV)
    return env


_STATUS = re.compile(r"^#(\d+)\s+\S+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", re.M)
_FORK_STATUS = re.compile(r"^#(\d+): cov: (\d+) ft: (\d+) corp: (\d+) exec/s", re.M)
_FINAL = re.compile(r"^stat::number_of_executed_units: (\d+)", re.M)
_ARTIFACT = re.compile(r"Test unit written to (\S+)")
_UB_ERROR = re.compile(r"runtime error: (.*)$", re.M)
#: UBSan's message -> the -fsanitize= check that produced it.
UB_CHECKS = (
    ("left shift of", "shift-base"), ("shift exponent", "shift-exponent"),
    ("signed integer overflow", "signed-integer-overflow"), ("negation of", "signed-integer-overflow"),
    ("division of", "signed-integer-overflow"), ("division by zero", "integer-divide-by-zero"),
    ("misaligned", "alignment"), ("out of bounds for type", "bounds"), ("pointer overflow", "pointer-overflow"),
    ("applying", "pointer-overflow"), ("null pointer", "null"), ("not a valid value for type", "bool,enum"),
)
_SUMMARY = re.compile(r"^(SUMMARY: .*|.*contract broken: .*|==\d+== ERROR: libFuzzer: .*)$", re.M)


def _relative(line: str) -> str:
    """A summary line with the tree's absolute paths made relative (the same in every checkout)."""
    return re.sub(r"\S*/(?=(subsys|include|tests)/)", "", line)


def parse_output(name: str, text: str, rc: int) -> Stats:
    """Statistics and any finding from libFuzzer's output (stderr) and exit status."""
    st = Stats(name, runs=1)
    status = _STATUS.findall(text) or _FORK_STATUS.findall(text)
    if status:
        execs, st.cov, st.ft, st.corpus = (int(x) for x in status[-1])
        st.execs = execs
    final = _FINAL.findall(text)
    if final:
        st.execs = int(final[-1])
    if rc != 0:
        summaries = _SUMMARY.findall(text)
        # a sanitizer's summary, else a broken contract, else libFuzzer's own (deadly signal, timeout)
        ranked = sorted(summaries, key=lambda s: (not s.startswith("SUMMARY: ") or "libFuzzer" in s,
                                                  "contract broken" not in s))
        summary = ranked[0] if ranked else ""
        art = _ARTIFACT.findall(text)
        ub = _UB_ERROR.findall(text)
        check = next((c for msg, c in UB_CHECKS if ub and msg in ub[0]), None)
        st.findings.append(Finding(name, Path(art[-1]) if art else None,
                                   _relative(summary.strip()) or f"exit status {rc}", check))
    return st


def run(name: str, *, seconds: float | None = None, runs: int | None = None, corpus: Path | None = None,
        artifacts: Path | None = None, extra: list[str] | None = None,
        allow: list[str] | None = None) -> Stats:
    """Run a target once for `seconds` and/or `runs` executions over its seeds (new inputs go to `corpus`)."""
    exe = build(name, allow)
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as tmp:
        work = corpus or Path(tmp) / "corpus"
        work.mkdir(parents=True, exist_ok=True)
        art = artifacts or Path(tmp)
        art.mkdir(parents=True, exist_ok=True)
        cmd = [str(exe), "-print_final_stats=1", f"-max_len={TARGETS[name].max_len}",
               f"-timeout={UNIT_TIMEOUT_S}", "-rss_limit_mb=2048", f"-artifact_prefix={art}/"]
        if seconds is not None:
            cmd.append(f"-max_total_time={max(1, int(seconds))}")
        if runs is not None:
            cmd.append(f"-runs={runs}")
        cmd += [*(extra or []), str(work), *map(str, seed_dirs(name))]
        log.info("fuzzing %s: %s", name, " ".join(cmd))
        t0 = time.monotonic()
        res = subprocess.run(cmd, capture_output=True, text=True, errors="replace", env=_env())
        st = parse_output(name, res.stderr, res.returncode)
        st.seconds = time.monotonic() - t0
        if res.returncode != 0 and not any("-fork=" in a for a in extra or []):
            log.warning("%s: %s", name, st.findings[-1].summary)
            log.debug("%s", res.stderr[-4000:])
        if artifacts is None:  # keep the reproducers of a throwaway run next to the cache
            keep = cache_dir() / "fuzz" / "artifacts" / name
            for f in st.findings:
                if f.reproducer is not None and f.reproducer.exists():
                    keep.mkdir(parents=True, exist_ok=True)
                    f.reproducer = Path(shutil.copy(f.reproducer, keep / f.reproducer.name))
        return st


def minimize(name: str, crash: Path, out: Path, seconds: int = 60, allow: list[str] | None = None) -> Path:
    """libFuzzer's crash minimization of `crash` into `out` (the original if it does not shrink)."""
    exe = build(name, allow)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(exe), "-minimize_crash=1", f"-max_total_time={seconds}", f"-timeout={UNIT_TIMEOUT_S}",
           f"-exact_artifact_path={out}", str(crash)]
    subprocess.run(cmd, capture_output=True, text=True, errors="replace", env=_env())
    if not out.exists():
        shutil.copy(crash, out)
    return out


def campaign(name: str, *, seconds: float | None = None, runs: int | None = None, corpus: Path | None = None,
             jobs: int = 1, pending_dir: Path | None = None, allow: list[str] | None = None) -> Stats:
    """Fuzz for `seconds` and/or `runs` in libFuzzer's fork mode, which goes on after a crash, a timeout
    or running out of memory; then triage what it wrote: each finding at a new location is minimized into
    `pending_dir` (default tests/fuzz/<target>/crashes-pending/) with its summary beside it.

    Inputs that crash do not enter the corpus: leave the checks of pending findings out (`allow`,
    see pending_checks()) when they fire on valid inputs. The working corpus persists in `corpus`
    (default: the cache).
    """
    corpus = corpus or cache_dir() / "fuzz" / "corpus" / name
    with tempfile.TemporaryDirectory(prefix=f"fuzz-art-{name}-") as art:
        st = run(name, seconds=seconds, runs=runs, corpus=corpus, artifacts=Path(art), allow=allow,
                 extra=[f"-fork={jobs}", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1"])
        st.findings = triage(name, sorted(p for p in Path(art).iterdir() if p.is_file()), pending_dir, allow)
    return st


def keep_findings(name: str, findings: list[Finding], pending_dir: Path, seen: set[str],
                  allow: list[str] | None = None) -> list[Finding]:
    """Minimize each finding whose location is not in `seen` into `pending_dir`, its summary beside it."""
    kept = []
    for f in findings:
        if f.where in seen or f.reproducer is None or not f.reproducer.exists():
            continue
        seen.add(f.where)
        digest = hashlib.sha1(f.reproducer.read_bytes()).hexdigest()[:12]
        f.reproducer = minimize(name, f.reproducer, pending_dir / f"{name}-{digest}", allow=allow)
        record_pending(f)
        kept.append(f)
    return kept


def triage(name: str, files: list[Path], pending_dir: Path | None = None,
           allow: list[str] | None = None) -> list[Finding]:
    """Replay inputs one by one (the last TRIAGE_MAX); minimize and record each finding at a location not yet
    pending."""
    pending_dir = pending_dir or fuzz_dir() / name / "crashes-pending"
    if len(files) > TRIAGE_MAX:
        log.warning("%s: %d inputs to triage, replaying the last %d", name, len(files), TRIAGE_MAX)
        files = sorted(files, key=lambda p: p.stat().st_mtime)[-TRIAGE_MAX:]
    seen = set(pending())
    kept: list[Finding] = []
    for f in files:
        kept += keep_findings(name, replay(name, [f], allow), pending_dir, seen, allow)
    return kept


def pending() -> dict[str, Finding]:
    """Findings handed over and not yet fixed (tests/fuzz/*/crashes-pending/), by location: a finding is
    the runtime's, whichever target found it."""
    out: dict[str, Finding] = {}
    for txt in sorted(fuzz_dir().glob("*/crashes-pending/*.txt")):
        lines = txt.read_text().splitlines() + [""]
        check = lines[1].removeprefix("check: ").strip() or None
        f = Finding(txt.parent.parent.name, txt.with_suffix(""), lines[0].strip(), check)
        out.setdefault(f.where, f)
    return out


def pending_checks() -> list[str]:
    """The UBSan checks of the pending findings (what `allow` leaves out to go past them)."""
    return sorted({c for f in pending().values() if f.check for c in f.check.split(",")})


def record_pending(f: Finding) -> Path:
    """Write a finding's summary beside its reproducer (<reproducer>.txt) so pending() knows it."""
    if f.reproducer is None:
        raise FuzzError(f"{f.target}: a finding without a reproducer: {f.summary}")
    txt = f.reproducer.with_name(f.reproducer.name + ".txt")
    txt.write_text(f.summary + "\n" + (f"check: {f.check}\n" if f.check else ""))
    return txt


def replay(name: str, files: list[Path], allow: list[str] | None = None) -> list[Finding]:
    """Run each input once; the findings (an empty list when every input passes)."""
    exe = build(name, allow)
    found: list[Finding] = []
    for i in range(0, len(files), 200):
        batch = files[i:i + 200]
        res = subprocess.run([str(exe), f"-timeout={UNIT_TIMEOUT_S}", *map(str, batch)],
                             capture_output=True, text=True, errors="replace", env=_env())
        if res.returncode != 0:
            running = re.findall(r"^Running: (\S+)", res.stderr, re.M)
            st = parse_output(name, res.stderr, res.returncode)
            found.append(dataclasses.replace(st.findings[0], reproducer=Path(running[-1]) if running else None))
            log.info("%s replay: %s", name, found[-1].summary)
            log.debug("%s", res.stderr[-4000:])
    return found
