/* AArch64 memory attributes (arm64_memattr.h) as the Arm ARM names them: the Device types, Normal memory's inner
 * and outer cacheability with stage 1's allocation hints and transience, and the shareability; in text and as
 * docs/json.md's `attributes` object (translate --gva and --gpa, replay's walks). */
#ifndef NESTWALK_SIM_ARM64_ATTR_PRINT_H
#define NESTWALK_SIM_ARM64_ATTR_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include <nestwalk/arm64_memattr.h>

/* One line's worth: "Normal, inner Write-Back (read-allocate, write-allocate), outer Non-cacheable, Outer
 * Shareable", "Device-nGnRE, Outer Shareable", or "UNPREDICTABLE (...)": never a guess. hints: the attributes
 * carry stage 1's allocation hints and transience (stage 2 alone has none: they are left out). */
void nw_arm64_attr_print_text(FILE *out, const struct nw_arm64_memattr *attr, bool hints);
/* The object {"type": ..} with the members the attributes have. */
void nw_arm64_attr_print_json(FILE *out, const struct nw_arm64_memattr *attr, bool hints);
/* What a stage-2 MemAttr[3:0] does with FEAT_S2FWB and HCR_EL2.FWB 1 (AArch64.S2ApplyFWBMemAttrs), the name
 * mappings and translate --gpa give it: Device-nGnRnE .. Device-GRE for MemAttr[2] 0 (the more restrictive of it
 * and a Device stage 1), Normal-WB for 0bx110 (forced Write-Back), stage-1 for 0bx111 (stage 1's attributes),
 * Normal-NC for 0bx10x (Non-cacheable, stage 1's if it is Device). */
const char *nw_arm64_memattr_fwb_name(unsigned memattr);

#endif
