/*
 * Copyright (c) 2026 The mcubert developers
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#ifndef MCUBERT_SOC_AN500_H_
#define MCUBERT_SOC_AN500_H_

/* Everything the CMSIS core header needs comes from Kconfig and devicetree. */
#include <cmsis_core_m_defaults.h>

#endif /* MCUBERT_SOC_AN500_H_ */
