/* An AArch64 test world for a Criterion suite: stage-1 tables for the TTBR0
 * and TTBR1 ranges built by the table engine in host frames (no stage 2: an
 * IPA is its host address), an optional AArch64 stage 2, the walk
 * configuration and the PE state; teardown frees every table and checks,
 * with fixture.h's host, that no frame is left. */
#ifndef NESTWALK_TESTS_ARM64_WORLD_H
#define NESTWALK_TESTS_ARM64_WORLD_H

#include <nestwalk/arm64_s1.h>
#include <nestwalk/arm64_s1_tables.h>
#include <nestwalk/arm64_s2.h>
#include <string.h>

#include "fixture.h"

static struct {
	struct nw_arm64_s1_tables range[2];
	bool has_range[2];
	struct nw_arm64_s2 s2;
	bool has_s2;
	struct nw_walk_config config;
	struct nw_arm64_cpu cpu;
	struct nw_arm64_el1_regs regs;
} aw;

static inline void a64_world_setup(void)
{
	fixture_setup();
	memset(&aw, 0, sizeof(aw));
	aw.config.hal = hal;
	aw.config.stage2.kind = NW_STAGE2_NONE;
}

static inline void a64_world_teardown(void)
{
	for (unsigned which = 0; which < 2; which++)
		if (aw.has_range[which])
			nw_arm64_s1_tables_destroy(&aw.range[which]);
	if (aw.has_s2)
		nw_arm64_s2_destroy(&aw.s2);
	fixture_teardown();
}

/* The tables of range which (0: TTBR0, 1: TTBR1) for a granule of 2^granule_bits bytes and va_bits. */
static inline struct nw_arm64_s1_tables *a64_world_tables(unsigned which, unsigned granule_bits, unsigned va_bits)
{
	cr_assert_eq(nw_arm64_s1_tables_create(&aw.range[which], which, granule_bits, va_bits, nw_pt_mem_hal(hal)),
		     NW_OK);
	aw.has_range[which] = true;
	return &aw.range[which];
}

/* The EL1 registers, TTBRn naming the tables built (ASID 0), decoded as the PE reads them. */
static inline void a64_world_load(uint64_t sctlr, uint64_t tcr, uint64_t mair)
{
	struct nw_arm64_s1_caps caps = nw_arm64_s1_caps_all();

	for (unsigned which = 0; which < 2; which++)
		if (aw.has_range[which])
			cr_assert_eq(nw_arm64_s1_tables_ttbr(&aw.range[which], 0, which ? &aw.regs.ttbr1 : &aw.regs.ttbr0),
				     NW_OK);
	aw.regs.sctlr = sctlr;
	aw.regs.tcr = tcr;
	aw.regs.mair = mair;
	cr_assert_eq(nw_arm64_s1_decode(&aw.regs, &caps, &aw.cpu.s1), NW_OK);
}

static inline struct nw_walk_result a64_world_walk(uint64_t va, enum nw_access_type type, bool el0)
{
	struct nw_access access = { .gva = nw_gva(va), .size = 1, .type = type };
	struct nw_walk_result res;

	aw.cpu.el0 = el0;
	nw_arm64_walk(&aw.config, &aw.cpu, &access, 0, &res);
	return res;
}

#endif
