# SPDX-License-Identifier: Apache-2.0
#
# Included by the CMakeLists.txt of each suite under tests/zephyr after
# find_package(Zephyr): mcubert_golden(<kernels|model> <header>) generates
# the golden header into the build directory with gen_golden.py (from the
# Python reference, mcubert.arith / mcubert.reference) and makes the app
# depend on it.

get_filename_component(MCUBERT_ROOT ${CMAKE_CURRENT_LIST_DIR}/../.. ABSOLUTE)

function(mcubert_golden what header)
  set(dir ${CMAKE_BINARY_DIR}/golden)
  set(out ${dir}/${header})
  file(GLOB py ${MCUBERT_ROOT}/scripts/mcubert/*.py)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E env PYTHONPATH=${MCUBERT_ROOT}/scripts
            ${PYTHON_EXECUTABLE} ${MCUBERT_ROOT}/tests/zephyr/gen_golden.py ${what} -o ${out}
    DEPENDS ${MCUBERT_ROOT}/tests/zephyr/gen_golden.py ${py} ${MCUBERT_ROOT}/tests/fixtures/vocab-small.txt
    COMMENT "mcubert: golden vectors ${header} (tests/zephyr/gen_golden.py ${what})"
  )
  add_custom_target(mcubert_golden_${what} DEPENDS ${out})
  add_dependencies(app mcubert_golden_${what})
  target_include_directories(app PRIVATE ${dir})
  get_target_property(srcs app SOURCES)
  set_source_files_properties(${srcs} PROPERTIES OBJECT_DEPENDS ${out})
endfunction()
