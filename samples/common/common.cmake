# SPDX-License-Identifier: Apache-2.0
#
# What the mcubert samples share, after find_package(Zephyr) and project(): sample_model.c (the model
# in its partition or embedded, its vocabulary, the arena, cycle counting) in the app, with the
# model_info.h that mcubert_sample_model() wrote, and the blob itself (mcubert_sample_blob(),
# cmake/mcubert.cmake): in its partition, or embedded; the packed vocabulary apart when the blob has none.

target_sources(app PRIVATE ${CMAKE_CURRENT_LIST_DIR}/sample_model.c)
target_include_directories(app PRIVATE ${CMAKE_BINARY_DIR}/mcubert ${CMAKE_CURRENT_LIST_DIR})
mcubert_sample_blob(app FILE ${MCUBERT_SAMPLE_BLOB} VOCAB "${MCUBERT_SAMPLE_VOCAB}"
                    PARTITION "${CONFIG_MCUBERT_SAMPLE_MODEL_PARTITION}" IN_ELF "${MCUBERT_MODEL_IN_ELF}")
