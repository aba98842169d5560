# SPDX-License-Identifier: Apache-2.0
"""include/mcubert/blob_format.h: the C view of the blob layout that formats/blob.py defines."""

from __future__ import annotations

from mcubert.formats import heads
from mcubert.formats.blob import (
    CRC_START,
    EMB_CLUSTER_FIELDS,
    EMB_CLUSTER_SIZE,
    FLAG_CASE_TYPES,
    FLAG_CLASSIFIER,
    FLAG_EMB_CLUSTERED,
    FLAG_POOLER,
    FLAG_TOKEN_CLASSIFIER,
    FLAG_WEIGHTS_S16,
    FLAGS_KNOWN,
    HEADER_FIELDS,
    HEADER_SIZE,
    LAYER_BASE,
    LAYER_PARAM_FIELDS,
    LAYER_SECTIONS,
    LAYER_STRIDE,
    MAGIC,
    MAX_CLUSTERS,
    MAX_SEQ_LEN_LIMIT,
    MODEL_PARAM_FIELDS,
    MODEL_SECTIONS,
    N_PLAN_BUFFERS,
    PLAN_FIELDS,
    PLAN_NONE,
    PLAN_SIZE,
    REQUANT_FIELDS,
    SECTION_ALIGN,
    SECTION_ENTRY_SIZE,
    VERSION_MAJOR,
    VERSION_MINOR,
    Buf,
    Dim,
    LayerSec,
    Schedule,
    Sec,
)
from mcubert.formats.cgen import banner


def render() -> str:
    """The text of include/mcubert/blob_format.h."""
    out = [
        *banner("scripts/mcubert/formats/blob.py"),
        "/**",
        " * @file",
        " * @brief Layout of the .mcub model blob (see docs/blob-format.md).",
        " */",
        "",
        "#ifndef MCUBERT_BLOB_FORMAT_H_",
        "#define MCUBERT_BLOB_FORMAT_H_",
        "",
        "#include <stdint.h>",
        "",
        f"#define MCUB_MAGIC \"{MAGIC.decode()}\"",
        f"#define MCUB_VERSION_MAJOR {VERSION_MAJOR}",
        f"#define MCUB_VERSION_MINOR {VERSION_MINOR}",
        f"#define MCUB_HEADER_SIZE {HEADER_SIZE}",
        f"#define MCUB_CRC_START {CRC_START}",
        f"#define MCUB_SECTION_ALIGN {SECTION_ALIGN}",
        f"#define MCUB_MAX_SEQ_LEN_LIMIT {MAX_SEQ_LEN_LIMIT}",
        f"#define MCUB_FLAG_POOLER 0x{FLAG_POOLER:04x}",
        f"#define MCUB_FLAG_CLASSIFIER 0x{FLAG_CLASSIFIER:04x}",
        f"#define MCUB_FLAG_EMB_CLUSTERED 0x{FLAG_EMB_CLUSTERED:04x}",
        f"#define MCUB_FLAG_TOKEN_CLASSIFIER 0x{FLAG_TOKEN_CLASSIFIER:04x}",
        f"#define MCUB_FLAG_WEIGHTS_S16 0x{FLAG_WEIGHTS_S16:04x} /* encoder weights int16, DSP pair order */",
        f"#define MCUB_FLAG_CASE_TYPES 0x{FLAG_CASE_TYPES:04x} /* token types: the case of each word */",
        f"#define MCUB_FLAGS_KNOWN 0x{FLAGS_KNOWN:04x}",
        f"#define MCUB_LAYER_BASE 0x{LAYER_BASE:04x}",
        f"#define MCUB_LAYER_STRIDE 0x{LAYER_STRIDE:04x}",
        "",
        "/** Section ids (model-wide). */",
        "enum mcub_section {",
    ]
    out += [f"\tMCUB_SEC_{s.name} = 0x{int(s):04x}," for s in Sec]
    out += ["};", "", "/** Per-layer section ids: MCUB_LAYER_BASE + layer * MCUB_LAYER_STRIDE + id. */",
            "enum mcub_layer_section {"]
    out += [f"\tMCUB_LSEC_{s.name} = {int(s)}," for s in LayerSec]
    out += ["};", "", "/** Blob header, little-endian, at offset 0. */", "struct mcub_header {"]
    out += [f"\t{ctype}; /* {comment} */" for _, _, ctype, comment in HEADER_FIELDS]
    out += ["};", "", "/** One entry of the section table. */", "struct mcub_section_entry {",
            "\tuint32_t id;", "\tuint32_t offset; /* from the blob start, MCUB_SECTION_ALIGN aligned */",
            "\tuint32_t size; /* bytes */", "\tuint32_t reserved;", "};", ""]

    def struct_of(name: str, fields: list[tuple[str, str]], brief: str) -> list[str]:
        lines = [f"/** {brief} */", f"struct {name} {{"]
        lines += [f"\tint32_t {n};" + (f" /* {c} */" if c else "") for n, c in fields]
        return lines + ["};", ""]

    out += ["/** Config fields that section shapes are made of. */", "enum mcub_dim {"]
    out += [f"\tMCUB_DIM_{dm.name} = {int(dm)}," for dm in Dim]
    out += ["};", "", "/** Expected shape of a section: dim0 * dim1 * elem bytes, present if flag is 0 or set. */",
            "struct mcub_section_spec {", "\tuint16_t id;", "\tuint8_t dim0;", "\tuint8_t dim1;",
            "\tuint16_t elem;", "\tuint16_t flag; /* present only if this flag is set (0: always) */",
            "\tuint16_t noflag; /* absent if this flag is set */", "};", ""]

    def spec_macro(name: str, rows, prefix: str) -> list[str]:
        lines = [f"#define {name} {{ \\"]
        lines += [f"\t{{ {prefix}{sid.name}, MCUB_DIM_{d0.name}, MCUB_DIM_{d1.name}, {elem}, {flag}, {noflag} }}, \\"
                  for sid, d0, d1, elem, flag, noflag in rows]
        return lines + ["}", ""]

    out += ["/** Initialiser of the model-wide section specs (struct mcub_section_spec[]). */"]
    out += spec_macro("MCUB_MODEL_SECTIONS", MODEL_SECTIONS, "MCUB_SEC_")
    out += ["/** Initialiser of the per-layer section specs (struct mcub_section_spec[]). */"]
    out += spec_macro("MCUB_LAYER_SECTIONS", LAYER_SECTIONS, "MCUB_LSEC_")
    out += ["/** Schedules (docs/scheduling.md). */", "enum mcub_schedule {"]
    out += [f"\tMCUB_SCHED_{x.name} = {int(x)}," for x in Schedule]
    out += ["};", "", "/** Activation buffer ids of a plan. */", "enum mcub_buffer {"]
    out += [f"\tMCUB_BUF_{x.name} = {int(x)}," for x in Buf]
    out += ["};", "", f"#define MCUB_N_PLAN_BUFFERS {N_PLAN_BUFFERS}", f"#define MCUB_PLAN_NONE 0x{PLAN_NONE:08x}U",
            "#define MCUB_PLAN_REGION_BIT 31", "",
            "/** A memory plan (sections MCUB_SEC_PLAN_*), written by mcubert.planner. */", "struct mcub_plan {"]
    for name, code, comment in PLAN_FIELDS:
        if code == "H":
            out.append(f"\tuint16_t {name}; /* {comment} */")
        else:
            n = int(code[:-1])
            out.append(f"\tuint32_t {name}[{n}]; /* {comment} */")
    out += ["};", ""]
    out += [f"#define MCUB_MAX_CLUSTERS {MAX_CLUSTERS}", "",
            "/** A cluster of a clustered low-rank word embedding (section MCUB_SEC_EMB_CLUSTERS). */",
            "struct mcub_emb_cluster {"]
    for name, code, comment in EMB_CLUSTER_FIELDS:
        out.append(f"\t{'uint32_t' if code == 'I' else 'uint16_t'} {name}; /* {comment} */")
    out += ["};", ""]
    out += heads.render_c_lines()
    out += struct_of("mcub_requant", REQUANT_FIELDS, "Per-output-channel requantisation of a linear layer.")
    out += struct_of("mcub_model_params", MODEL_PARAM_FIELDS, "Model-wide integer scalars.")
    out += struct_of("mcub_layer_params", LAYER_PARAM_FIELDS, "Integer scalars of one encoder layer.")
    out += [
        f"_Static_assert(sizeof(struct mcub_header) == {HEADER_SIZE}, \"header layout\");",
        f"_Static_assert(sizeof(struct mcub_section_entry) == {SECTION_ENTRY_SIZE}, \"entry layout\");",
        f"_Static_assert(sizeof(struct mcub_plan) == {PLAN_SIZE}, \"plan layout\");",
        f"_Static_assert(sizeof(struct mcub_emb_cluster) == {EMB_CLUSTER_SIZE}, \"cluster layout\");",
        "",
        "#endif /* MCUBERT_BLOB_FORMAT_H_ */",
        "",
    ]
    return "\n".join(out)
