# SPDX-License-Identifier: Apache-2.0

set(SUPPORTED_EMU_PLATFORMS qemu)

set(QEMU_CPU_TYPE_${ARCH} cortex-m7)
set(QEMU_FLAGS_${ARCH}
  -cpu ${QEMU_CPU_TYPE_${ARCH}}
  -machine mps2-an500
  -nographic
  -vga none
  )
board_set_debugger_ifnset(qemu)

# "Flashing" hands the build to an emulated board of an mcubert board farm
# (scripts/hil/qemu_dut.py), so that Twister's --device-testing runs this
# board without hardware: see docs/zephyr.md, "Hardware in the loop".
get_filename_component(MCUBERT_QEMU_DUT_FLASH
  ${CMAKE_CURRENT_LIST_DIR}/../../../scripts/hil/qemu-dut-flash ABSOLUTE)
board_set_flasher_ifnset(misc-flasher)
board_runner_args(misc-flasher ${MCUBERT_QEMU_DUT_FLASH})
include(${ZEPHYR_BASE}/boards/common/misc.board.cmake)
