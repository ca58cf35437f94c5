/* The IDT, the TSS and the trap path: an exception either lands at the armed
 * recovery point (recorded: vector, error code, CR2) or stops the image. */
#ifndef HW_TRAP_H
#define HW_TRAP_H

#include <stdbool.h>
#include <stdint.h>

#define HW_VEC_UD 6
#define HW_VEC_NP 11
#define HW_VEC_GP 13
#define HW_VEC_PF 14
#define HW_VEC_SYSCALL 0x80 /* the "access done" gate, open to CPL 3 */

struct hw_trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

/* Callee-saved state of hw_ctx_save's caller (trap.S). */
struct hw_ctx {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip, rflags;
};

__attribute__((returns_twice)) uint64_t hw_ctx_save(struct hw_ctx *ctx);
_Noreturn void hw_ctx_resume(struct hw_ctx *ctx, uint64_t val);

struct hw_trap_record {
	uint64_t vector, error, cr2, rip, cs, rax;
};

/* A recovery point: while armed, the next trap fills record and resumes ctx
 * (hw_ctx_save then returns 1). */
struct hw_catch {
	struct hw_ctx ctx;
	struct hw_trap_record record;
};

void hw_trap_init(void);
void hw_catch_arm(struct hw_catch *c);
void hw_catch_disarm(void);
/* Points the GDT's LDT descriptor at base (limit 7: one entry) and loads LDTR. */
void hw_ldt_load(uint64_t base);
void hw_ldt_clear(void);

void hw_trap(struct hw_trap_frame *frame);

#endif
