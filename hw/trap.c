#include "trap.h"

#include "contract/layout.h"
#include "serial.h"
#include "x86.h"

/* 64-bit interrupt gate (SDM Vol. 3A Figure 6-8): type 0xE, present, DPL in bits 46:45. */
#define GATE_INTERRUPT 0x8e00u
#define GATE_DPL3 0x6000u

/* 64-bit TSS (SDM Vol. 3A Figure 8-11); no I/O bitmap (its offset is the limit). */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iopb;
} __attribute__((packed));

struct idt_gate {
	uint16_t offset_low, selector, flags, offset_mid;
	uint32_t offset_high, reserved;
};

struct table_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern uint64_t hw_gdt[];
extern const uint64_t hw_trap_stubs[32];
extern const uint64_t hw_trap_stub_syscall;

static struct idt_gate idt[256];
static struct tss tss;
/* A CPL 3 -> 0 trap lands here, away from the frames of the code it resumes. */
static uint8_t ring0_stack[16384] __attribute__((aligned(16)));
static struct hw_catch *armed;

static void set_gate(unsigned vec, uint64_t handler, uint16_t flags)
{
	idt[vec] = (struct idt_gate){
		.offset_low = (uint16_t)handler,
		.selector = HW_SEL_KCODE,
		.flags = flags,
		.offset_mid = (uint16_t)(handler >> 16),
		.offset_high = (uint32_t)(handler >> 32),
	};
}

/* 16-byte system descriptor (SDM Vol. 3A Figure 8-4) at the GDT index of sel. */
static void set_system_descriptor(uint16_t sel, uint64_t base, uint32_t limit, uint8_t type)
{
	unsigned i = sel >> 3;

	hw_gdt[i] = (limit & 0xffffu) | ((base & 0xffffffu) << 16) | ((uint64_t)type << 40) | (UINT64_C(1) << 47) |
		    ((uint64_t)((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xffu) << 56);
	hw_gdt[i + 1] = base >> 32;
}

void hw_trap_init(void)
{
	struct table_ptr idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };

	for (unsigned v = 0; v < 32; v++)
		set_gate(v, hw_trap_stubs[v], GATE_INTERRUPT);
	set_gate(HW_VEC_SYSCALL, hw_trap_stub_syscall, GATE_INTERRUPT | GATE_DPL3);
	__asm__ volatile("lidt %0" : : "m"(idtr));

	tss.rsp[0] = (uint64_t)(uintptr_t)(ring0_stack + sizeof(ring0_stack));
	tss.iopb = sizeof(tss);
	set_system_descriptor(HW_SEL_TSS, (uint64_t)(uintptr_t)&tss, sizeof(tss) - 1, 0x9); /* available 64-bit TSS */
	hw_ltr(HW_SEL_TSS);
}

void hw_ldt_load(uint64_t base)
{
	set_system_descriptor(HW_SEL_LDT, base, 7, 0x2);
	hw_lldt(HW_SEL_LDT);
}

void hw_ldt_clear(void)
{
	hw_lldt(0);
	hw_clear_fs();
}

void hw_catch_arm(struct hw_catch *c)
{
	armed = c;
}

void hw_catch_disarm(void)
{
	armed = 0;
}

void hw_trap(struct hw_trap_frame *frame)
{
	struct hw_catch *c = armed;

	if (c) {
		armed = 0;
		c->record = (struct hw_trap_record){
			.vector = frame->vector, .error = frame->error, .cr2 = hw_read_cr2(),
			.rip = frame->rip, .cs = frame->cs, .rax = frame->rax,
		};
		hw_ctx_resume(&c->ctx, 1);
	}
	hw_puts("hw: unexpected trap vector ");
	hw_put_dec(frame->vector);
	hw_puts(" error ");
	hw_put_hex(frame->error);
	hw_puts(" rip ");
	hw_put_hex(frame->rip);
	hw_puts(" cr2 ");
	hw_put_hex(hw_read_cr2());
	hw_putc('\n');
	hw_exit(HW_EXIT_FAIL);
}
