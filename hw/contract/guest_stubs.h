/* The guest's access stubs: offsets in its code page (vmx_entry.S) and what a
 * write stores. Plain defines, shared by the assembly and the C side. */
#ifndef HW_VMX_GUEST_STUBS_H
#define HW_VMX_GUEST_STUBS_H

#define VMX_STUB_READ 0x0
#define VMX_STUB_WRITE 0x10
#define VMX_STUB_FETCH 0x20
#define VMX_STUB_IMPLICIT 0x30
#define VMX_IMPLICIT_SEL 0x8 /* GDT entry 1: the descriptor an implicit case reads at its linear address */
#define VMX_WRITE_BYTE 0x5a

#endif
