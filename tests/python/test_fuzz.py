# SPDX-License-Identifier: Apache-2.0
"""Fuzz targets (tests/fuzz) under ASan + UBSan: each runs a bounded short time with no finding, and
every seed and every kept reproducer (tests/fuzz/<target>/regressions/) replays cleanly.

A finding already handed over (tests/fuzz/*/crashes-pending/, its summary and UBSan check in <file>.txt)
makes a test xfail rather than fail when it fires again at the same source location, and the short fuzz
runs leave the pending UBSan checks out of the runtime's instrumentation to go past them; any other finding
fails. Long campaigns: benchmarks/fuzz.py.
"""

from __future__ import annotations

import pytest

from mcubert.formats.blob import unpack
from mcubert.formats.vocab import unpack_vocab
from mcubert.targets import fuzz, native

FUZZ_SECONDS = 12  # per target; four targets stay under a minute


@pytest.fixture(scope="module")
def fuzzer() -> None:
    reason = fuzz.available()
    if reason is not None:
        pytest.skip(reason)


def _judge(name: str, findings: list[fuzz.Finding]) -> None:
    known = fuzz.pending()
    new = [f for f in findings if f.where not in known]
    assert not new, "\n".join(f"{f.target}: {f.summary} (input {f.reproducer})" for f in new)
    if findings:
        pytest.xfail("; ".join(f"pending: {f.summary} ({known[f.where].reproducer})" for f in findings))


def _inputs(name: str) -> list:
    return [p for d in fuzz.seed_dirs(name) for p in sorted(d.iterdir()) if p.is_file()] + fuzz.regression_files(name)


@pytest.mark.parametrize("name", sorted(fuzz.TARGETS))
def test_seeds_and_regressions_replay(fuzzer, name):
    files = _inputs(name)
    assert files, f"{name} has no seed corpus"
    _judge(name, fuzz.replay(name, files))


@pytest.mark.parametrize("name", sorted(fuzz.TARGETS))
def test_fuzz_briefly(fuzzer, name):
    st = fuzz.run(name, seconds=FUZZ_SECONDS, allow=fuzz.pending_checks())
    _judge(name, st.findings)
    assert st.execs > 100 and st.cov > 0


def test_seed_blobs_are_valid():
    """The blob seeds stay valid blobs (the format or converter changed: python benchmarks/fuzz.py --write-seeds)."""
    seeds = sorted((fuzz.fuzz_dir() / "blob_raw" / "seeds").glob("*.mcub"))
    assert len(seeds) >= 4
    for p in seeds:
        data = p.read_bytes()
        b = unpack(data)
        assert native.Runtime.init_errno(data, arena_bytes=b.arena_bytes) == 0, p.name


def test_seed_vocabs_are_valid():
    for p in sorted((fuzz.fuzz_dir() / "vocab" / "seeds").glob("*.mcbv")):
        assert unpack_vocab(p.read_bytes()).header["vocab_size"] > 0, p.name


def test_parse_output_reads_stats_and_findings():
    text = ("#2\tINITED cov: 10 ft: 12 corp: 3/4096b exec/s: 0 rss: 30Mb\n"
            "#4096\tpulse  cov: 120 ft: 300 corp: 40/9Kb lim: 4096 exec/s: 2048 rss: 40Mb\n"
            "/w/subsys/mcubert/model.c:12:3: runtime error: left shift of negative value -1\n"
            "SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior /w/subsys/mcubert/model.c:12:3 in \n"
            "artifact_prefix='/tmp/a/'; Test unit written to /tmp/a/crash-abc\n"
            "stat::number_of_executed_units: 5000\n")
    st = fuzz.parse_output("blob_raw", text, 1)
    assert (st.execs, st.cov, st.ft, st.corpus) == (5000, 120, 300, 40)
    assert [(f.summary, str(f.reproducer)) for f in st.findings] == [
        ("SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior subsys/mcubert/model.c:12:3 in", "/tmp/a/crash-abc")]
    assert fuzz.parse_output("vocab", text, 0).findings == []
