/* A second stage seen through its format's rules (stage2_rules.h). */
#include <nestwalk/arm64_s2.h>
#include <nestwalk/ept.h>
#include <nestwalk/npt.h>
#include <nestwalk/riscv_gstage.h>

#include "stage2_rules.h"

bool nw_s2_view_of(const struct nw_stage2 *s2, struct nw_s2_view *view)
{
	switch (s2->kind) {
	case NW_STAGE2_EPT:
		*view = (struct nw_s2_view){ &nw_ept_rules, &s2->ept->config, &s2->ept->pt };
		return true;
	case NW_STAGE2_NPT:
		*view = (struct nw_s2_view){ &nw_npt_rules, &s2->npt->config, &s2->npt->pt };
		return true;
	case NW_STAGE2_ARM64:
		*view = (struct nw_s2_view){ nw_arm64_s2_rules_of(&s2->arm64->config), &s2->arm64->config,
					     &s2->arm64->pt };
		return true;
	case NW_STAGE2_RISCV:
		*view = (struct nw_s2_view){ nw_rv_gstage_rules_of(&s2->riscv->config, false), &s2->riscv->config,
					     &s2->riscv->pt };
		return true;
	case NW_STAGE2_NONE:
		break;
	}
	return false;
}
