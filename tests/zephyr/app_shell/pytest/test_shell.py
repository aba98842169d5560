# SPDX-License-Identifier: Apache-2.0
"""Twister pytest harness: type the module's shell commands into the application and read their output."""

import re

from twister_harness import Shell


def test_info_binds_the_model_and_logs(shell: Shell):
    lines = shell.exec_command("mcubert info")
    text = "\n".join(lines)
    assert re.search(r"model: 12784 B blob at 0x[0-9a-f]+ \(set by the application\)", text), text
    assert "model: 1 layers, hidden 16, 2 heads, FFN 32, vocab 157, 2 labels, max 64 tokens" in text, text
    # the runtime's log module reports the bind (log output shares the shell's console)
    more = lines + shell.exec_command("")
    assert any(re.search(r"<inf> mcubert: blob at 0x[0-9a-f]+ \(12784 B\): 1 layers", s) for s in more), more


def test_tokenize_and_classify(shell: Shell):
    lines = shell.exec_command('mcubert tokenize "hello world"')
    # [CLS] (7) ... [SEP] (8) in tests/fixtures/vocab-small.txt
    assert any(re.match(r"\d+ tokens: 7( \d+)+ 8$", s) for s in lines), lines
    lines = shell.exec_command("mcubert classify hello world")
    assert any(re.match(r"label [01], \d+ tokens, logits -?\d+ -?\d+ \(int32", s) for s in lines), lines
