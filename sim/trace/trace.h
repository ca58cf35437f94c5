/* Trace records and their codecs (traces/FORMAT.md): one record at a time,
 * read from or written to a binary or text trace, optionally zstd-compressed.
 * Memory use is constant whatever the trace length. */
#ifndef NESTWALK_SIM_TRACE_H
#define NESTWALK_SIM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nestwalk/addr.h>
#include <nestwalk/level.h>
#include <nestwalk/tlb_arm64.h>
#include <nestwalk/tlb_riscv.h>

#define NW_TRACE_VERSION 3 /* the newest this reader knows; a writer writes nw_trace_arch_version() unless told */
#define NW_TRACE_BINARY_MAGIC "\x89NWTRC\r\n" /* 8 bytes; the CR LF catches text-mode mangling */
#define NW_TRACE_BINARY_MAGIC_LEN 8
#define NW_TRACE_TEXT_MAGIC "nestwalk-trace"
#define NW_TRACE_MAX_DATA 4096    /* bytes in one guest-physical write */
#define NW_TRACE_MAX_LABEL 255    /* bytes in one mark label */
#define NW_TRACE_MAX_PAYLOAD (8 + NW_TRACE_MAX_DATA) /* the longest record: a full guest-physical write */
#define NW_TRACE_MAX_ACCESS 4096  /* bytes in one access */
#define NW_TRACE_MAX_LINE 16384   /* bytes in one text line */

/* Binary tags. Bit 7 set marks an optional record a reader may skip. */
enum nw_trace_kind {
	NW_TRACE_ACCESS = 0x01,
	NW_TRACE_REG = 0x02,
	NW_TRACE_GPWRITE = 0x03,
	NW_TRACE_INVLPG = 0x04,
	NW_TRACE_INVPCID = 0x05,
	NW_TRACE_INVVPID = 0x06,
	NW_TRACE_INVEPT = 0x07,
	NW_TRACE_MARK = 0x08,
	NW_TRACE_EXPECT = 0x09,
	NW_TRACE_TLBI = 0x0a,  /* version 2, aarch64 traces */
	NW_TRACE_FENCE = 0x0b, /* version 2, riscv64 traces */
	NW_TRACE_S2EDIT = 0x0c, /* version 3: the hypervisor edits a second-stage entry */
	NW_TRACE_END = 0x7f,
};

#define NW_TRACE_TAG_OPTIONAL 0x80
#define NW_TRACE_KIND_COUNT 12 /* ACCESS .. S2EDIT */

/* The architecture a trace is of (version 2 names it; a version-1 trace is x86_64). It decides which registers,
 * invalidations and access fields the trace may hold (nw_trace_arch_check). */
enum nw_trace_arch {
	NW_TRACE_ARCH_X86_64 = 0,
	NW_TRACE_ARCH_AARCH64,
	NW_TRACE_ARCH_RISCV64,
	NW_TRACE_ARCH_COUNT,
};

enum nw_trace_reg {
	NW_TRACE_CR0 = 0,
	NW_TRACE_CR3,
	NW_TRACE_CR4,
	NW_TRACE_EFER,
	NW_TRACE_RFLAGS,
	NW_TRACE_PKRU,
	NW_TRACE_PKRS,
	/* AArch64 (version 2): the EL1&0 regime's system registers, EL2's that control it, and PSTATE. */
	NW_TRACE_SCTLR_EL1,
	NW_TRACE_TCR_EL1,
	NW_TRACE_TTBR0_EL1,
	NW_TRACE_TTBR1_EL1,
	NW_TRACE_MAIR_EL1,
	NW_TRACE_VTTBR_EL2,
	NW_TRACE_VTCR_EL2,
	NW_TRACE_HCR_EL2,
	NW_TRACE_PSTATE,
	/* RISC-V (version 2): the VS-level and HS-level CSRs translation reads, and the privilege. */
	NW_TRACE_VSATP,
	NW_TRACE_HGATP,
	NW_TRACE_VSSTATUS,
	NW_TRACE_SSTATUS, /* the HS-level sstatus: its MXR applies to the VS-stage too */
	NW_TRACE_HSTATUS,
	NW_TRACE_MENVCFG,
	NW_TRACE_HENVCFG,
	NW_TRACE_PRIV,
	NW_TRACE_REG_COUNT,
};

#define NW_TRACE_FIRST_RISCV_REG NW_TRACE_VSATP
/* priv as a trace carries it: the privilege the guest runs at, always with V=1 (a trace is of a virtual
 * machine): 0 VU-mode, 1 VS-mode, the privilege levels' own encoding (privileged spec, "Privilege Levels"). */
#define NW_TRACE_PRIV_VU 0
#define NW_TRACE_PRIV_VS 1

#define NW_TRACE_FIRST_ARM64_REG NW_TRACE_SCTLR_EL1
/* PSTATE as a trace carries it: the fields of the SPSR_ELx layout that translation reads (Arm ARM C5.2.18). */
#define NW_TRACE_PSTATE_EL (UINT64_C(3) << 2) /* M[3:2]: the exception level, 0 or 1 */
#define NW_TRACE_PSTATE_PAN (UINT64_C(1) << 22)
#define NW_TRACE_PSTATE_UAO (UINT64_C(1) << 23)
#define NW_TRACE_PSTATE_BITS (NW_TRACE_PSTATE_EL | NW_TRACE_PSTATE_PAN | NW_TRACE_PSTATE_UAO)

/* Outcomes an expectation may name; the same words as `translate --json`. */
enum nw_trace_outcome {
	NW_TRACE_OUT_OK = 0,
	NW_TRACE_OUT_PAGE_FAULT,
	NW_TRACE_OUT_EPT_VIOLATION,
	NW_TRACE_OUT_EPT_MISCONFIG,
	NW_TRACE_OUT_NPF,
	NW_TRACE_OUT_GENERAL_PROTECTION,
	NW_TRACE_OUT_MMIO,
	NW_TRACE_OUT_ROM_WRITE,
	NW_TRACE_OUT_STAGE1_ABORT, /* aarch64: a stage-1 fault taken to EL1 */
	NW_TRACE_OUT_STAGE2_ABORT, /* aarch64: a stage-2 fault taken to EL2 */
	NW_TRACE_OUT_GUEST_PAGE_FAULT, /* riscv64: a G-stage fault taken to HS-mode */
	NW_TRACE_OUT_ACCESS_FAULT,     /* riscv64: a table read that found no memory */
	NW_TRACE_OUT_COUNT,
};

/* The outcomes an aarch64 trace's expectation may name, a bit each: those of any address space and the aborts;
 * an x86_64 trace's: all but the aborts. */
#define NW_TRACE_AARCH64_OUTCOMES                                                                              \
	((1u << NW_TRACE_OUT_OK) | (1u << NW_TRACE_OUT_MMIO) | (1u << NW_TRACE_OUT_ROM_WRITE) |                \
	 (1u << NW_TRACE_OUT_STAGE1_ABORT) | (1u << NW_TRACE_OUT_STAGE2_ABORT))
#define NW_TRACE_X86_OUTCOMES (((1u << NW_TRACE_OUT_STAGE1_ABORT) - 1))
/* A riscv64 trace's: those of any address space and the RISC-V traps (a VS-stage page fault, a guest-page fault,
 * an access fault). */
#define NW_TRACE_RISCV64_OUTCOMES                                                                              \
	((1u << NW_TRACE_OUT_OK) | (1u << NW_TRACE_OUT_MMIO) | (1u << NW_TRACE_OUT_ROM_WRITE) |                \
	 (1u << NW_TRACE_OUT_PAGE_FAULT) | (1u << NW_TRACE_OUT_GUEST_PAGE_FAULT) | (1u << NW_TRACE_OUT_ACCESS_FAULT))

/* Which fields an expectation carries (bit i = field i, in this order on disk). */
enum nw_trace_expect_field {
	NW_EXPECT_OUTCOME = 0,
	NW_EXPECT_GPA,
	NW_EXPECT_HPA,
	NW_EXPECT_ERROR_CODE,
	NW_EXPECT_EXIT_QUALIFICATION,
	NW_EXPECT_FAULT_GPA,
	NW_EXPECT_REFS,
	NW_EXPECT_GUEST_PAGE_SIZE,
	NW_EXPECT_S2_PAGE_SIZE,
	NW_EXPECT_MISCONFIG_LEVEL,
	NW_EXPECT_GLA_VALID,
	NW_EXPECT_ESR,   /* aarch64: ESR_EL1 of a stage1_abort, ESR_EL2 of a stage2_abort */
	NW_EXPECT_FAR,   /* aarch64: FAR_EL1 or FAR_EL2, the faulting virtual address */
	NW_EXPECT_HPFAR, /* aarch64: HPFAR_EL2 of a stage2_abort, where the Arm ARM defines it */
	/* riscv64 (version 3): the CSRs the trap wrote, as translate --gva prints them */
	NW_EXPECT_SCAUSE, /* scause (vscause for a page fault taken to VS-mode) */
	NW_EXPECT_STVAL,  /* stval (vstval): the guest virtual address */
	NW_EXPECT_HTVAL,  /* HS-mode's htval: a guest-page fault's GPA >> 2 */
	NW_EXPECT_HTINST, /* HS-mode's htinst: the pseudoinstruction of a VS-stage PTE access, else 0 */
	NW_EXPECT_FIELD_COUNT,
};

/* The fields of a version-1 or -2 expectation, whose mask is 16 bits; version 3's is 32 bits. */
#define NW_EXPECT_V2_FIELDS ((1u << NW_EXPECT_SCAUSE) - 1)
/* The fields only a RISC-V trap has, and those only a trap taken to HS-mode writes. */
#define NW_EXPECT_HS_FIELDS ((1u << NW_EXPECT_HTVAL) | (1u << NW_EXPECT_HTINST))
#define NW_EXPECT_RISCV_FIELDS ((1u << NW_EXPECT_SCAUSE) | (1u << NW_EXPECT_STVAL) | NW_EXPECT_HS_FIELDS)

/* The fields only an aarch64 abort has. */
#define NW_EXPECT_ARM64_FIELDS ((1u << NW_EXPECT_ESR) | (1u << NW_EXPECT_FAR) | (1u << NW_EXPECT_HPFAR))

/* The fields an expectation after a register write may name: what the write's PDPTE load gave (a register
 * write translates no address, so it has no gpa, hpa or page size). */
#define NW_EXPECT_REG_FIELDS                                                                                   \
	((1u << NW_EXPECT_OUTCOME) | (1u << NW_EXPECT_ERROR_CODE) | (1u << NW_EXPECT_EXIT_QUALIFICATION) |     \
	 (1u << NW_EXPECT_FAULT_GPA) | (1u << NW_EXPECT_REFS) | (1u << NW_EXPECT_MISCONFIG_LEVEL) |             \
	 (1u << NW_EXPECT_GLA_VALID))

#define NW_EXPECT_HAS(expect, field) (((expect)->present >> (field)) & 1u)

struct nw_trace_access {
	nw_gva_t gva;
	uint32_t size; /* 1 .. NW_TRACE_MAX_ACCESS */
	enum nw_access_type type;
	uint8_t cpl;   /* x86_64: the CPL, 0 .. 3; aarch64: the exception level, 0 or 1 (text "el"); riscv64: the
			* privilege, NW_TRACE_PRIV_VU or NW_TRACE_PRIV_VS (text "priv") */
	bool implicit; /* x86_64: implicit supervisor-mode access (descriptor tables) */
	bool ac;       /* x86_64: RFLAGS.AC at the access */
	bool unpriv;   /* aarch64: an unprivileged load or store (LDTR/STTR and kin) */
};

struct nw_trace_regwrite {
	enum nw_trace_reg reg;
	uint64_t value; /* PKRU and PKRS are 32-bit: higher bits must be zero */
};

struct nw_trace_gpwrite {
	nw_gpa_t gpa;
	uint32_t len;        /* 1 .. NW_TRACE_MAX_DATA */
	const uint8_t *data; /* valid until the next record is read */
};

struct nw_trace_inv {
	uint8_t type;  /* INVPCID/INVVPID 0-3, INVEPT 1-2 */
	uint16_t id;   /* PCID (12 bits) or VPID; unused (0) for INVEPT */
	nw_gva_t gva;  /* INVLPG, INVPCID, INVVPID */
	uint64_t eptp; /* INVEPT */
};

/* A TLBI with its operand register as the instruction encodes it (tlb_arm64.h: VA[55:12] and ASID, or
 * IPA[51:12]); 0 for the operations without one. */
struct nw_trace_tlbi {
	enum nw_tlbi_op op;
	uint64_t xt;
};

/* The hypervisor's edit of its second stage: the entry at level on gpa's path (the trace architecture's own level
 * numbering, as a scenario's edits: x86_64 1 = PTE .. 5, aarch64 the Arm ARM's 0..3, riscv64 the privileged spec's
 * 0 = the 4 KiB PTE .. 4) becomes (entry & ~clear) | set, in the format's own bits (EPT or NPT, the stage-2
 * descriptor, the G-stage PTE). */
struct nw_trace_s2edit {
	nw_gpa_t gpa;
	uint8_t level;
	uint64_t clear, set;
};

struct nw_trace_expect {
	uint32_t present; /* bit per enum nw_trace_expect_field; never 0 */
	enum nw_trace_outcome outcome;
	nw_gpa_t gpa;
	nw_hpa_t hpa;
	uint64_t error_code;
	uint64_t exit_qualification;
	nw_gpa_t fault_gpa;
	uint32_t refs;
	uint64_t guest_page_size;
	uint64_t s2_page_size;
	uint8_t misconfig_level; /* the misconfigured EPT entry's level, 1 (PTE) .. 5 */
	uint8_t gla_valid;       /* bit 7 of an EPT violation's exit qualification: 0 or 1 */
	uint64_t esr, far, hpfar;
	uint64_t scause, stval, htval, htinst;
};

struct nw_trace_record {
	enum nw_trace_kind kind;
	union {
		struct nw_trace_access access;
		struct nw_trace_regwrite reg;
		struct nw_trace_gpwrite gpwrite;
		struct nw_trace_inv inv;
		struct nw_trace_tlbi tlbi;
		struct nw_rvfence fence; /* FENCE: the instruction and its rs1/rs2 as encoded (tlb_riscv.h) */
		struct nw_trace_s2edit s2edit;
		struct nw_trace_expect expect;
		char label[NW_TRACE_MAX_LABEL + 1]; /* MARK: NUL-terminated, printable ASCII without '"' and '\' */
	};
};

enum nw_trace_form {
	NW_TRACE_FORM_BINARY = 0,
	NW_TRACE_FORM_TEXT,
};

/* Names used by the text form (NULL for a value outside its range). */
const char *nw_trace_arch_name(enum nw_trace_arch arch); /* "x86_64", "aarch64", "riscv64" */
const char *nw_trace_kind_name(enum nw_trace_kind kind);
const char *nw_trace_reg_name(enum nw_trace_reg reg);
const char *nw_trace_outcome_name(enum nw_trace_outcome outcome);
/* The old spelling the text reader still accepts for outcome (mmio_exit, rom_write_exit), or NULL. */
const char *nw_trace_outcome_old_name(enum nw_trace_outcome outcome);
const char *nw_trace_expect_field_name(enum nw_trace_expect_field field);
/* The field's bytes on disk: 8, or 4 for refs, 1 for outcome, misconfig_level and gla_valid. */
unsigned nw_trace_expect_field_bytes(enum nw_trace_expect_field field);
/* An expectation's fields as values indexed by enum nw_trace_expect_field, and back: the form
 * both codecs read and write (present is left as it is). */
void nw_trace_expect_get_fields(const struct nw_trace_expect *e, uint64_t vals[NW_EXPECT_FIELD_COUNT]);
void nw_trace_expect_set_fields(struct nw_trace_expect *e, const uint64_t vals[NW_EXPECT_FIELD_COUNT]);

/* NULL when an expectation may follow a record of kind prev (FORMAT.md, "Ordering": an access, or a register
 * write when it names only NW_EXPECT_REG_FIELDS), else what is wrong. The reader and the writer both apply it. */
const char *nw_trace_expect_order_check(enum nw_trace_kind prev, const struct nw_trace_expect *e);

/* NULL when every field of rec is within its domain, else what is wrong. The
 * reader and the writer both apply it, so nothing invalid is read or written. */
const char *nw_trace_record_check(const struct nw_trace_record *rec);
/* NULL when rec belongs in a trace of arch (its registers, invalidations and access fields), else what is wrong.
 * The reader and the writer both apply it. */
const char *nw_trace_arch_check(enum nw_trace_arch arch, const struct nw_trace_record *rec);
/* The version a writer gives a trace of arch unless told: the lowest that holds it (1 for x86_64, 2 for the
 * others). */
unsigned nw_trace_arch_version(enum nw_trace_arch arch);
/* NULL when a trace of version may hold rec, else what is wrong (the RISC-V trap fields and s2edit need version
 * 3). The reader and the writer both apply it. */
const char *nw_trace_version_check(unsigned version, const struct nw_trace_record *rec);

/* Whether a and b are the same record: the same kind and the same value in
 * every field it carries (an expectation: the same fields present, each
 * equal; the values of absent fields are not part of the record). */
bool nw_trace_record_same(const struct nw_trace_record *a, const struct nw_trace_record *b);

/* Reading. Opening detects zstd, then the binary or text form, by magic.
 * PATH "-" is standard input. On failure err holds the reason. */
struct nw_trace_reader;

struct nw_trace_reader *nw_trace_reader_open(const char *path, char *err, size_t errlen);
/* The same, refusing a trace of another architecture than arch (a replay's scenario's): NULL and the reason. */
struct nw_trace_reader *nw_trace_reader_open_arch(const char *path, enum nw_trace_arch arch, char *err, size_t errlen);
/* The same over size bytes at data (which must outlive the reader), NAME in
 * the place of the path in messages: the same records, and the same errors
 * at the same offsets, as from a file holding those bytes. */
struct nw_trace_reader *nw_trace_reader_open_mem(const char *name, const void *data, size_t size, char *err,
						 size_t errlen);
/* Starts an open reader over on other bytes, as open_mem would, but keeping
 * its memory (buffers, zstd decompressor) whatever it read before. 0, or -1
 * with the reason in err and nw_trace_reader_error(); the reader stays open
 * either way, to reopen or to close. */
int nw_trace_reader_reopen_mem(struct nw_trace_reader *reader, const char *name, const void *data, size_t size,
			       char *err, size_t errlen);
/* 1: *rec holds the next record; 0: the end record was read and nothing
 * follows; -1: an error, described by nw_trace_reader_error(). */
int nw_trace_reader_next(struct nw_trace_reader *reader, struct nw_trace_record *rec);
const char *nw_trace_reader_error(const struct nw_trace_reader *reader);
enum nw_trace_form nw_trace_reader_form(const struct nw_trace_reader *reader);
enum nw_trace_arch nw_trace_reader_arch(const struct nw_trace_reader *reader);
unsigned nw_trace_reader_version(const struct nw_trace_reader *reader); /* from the header, 1 .. NW_TRACE_VERSION */
bool nw_trace_reader_is_compressed(const struct nw_trace_reader *reader);
uint64_t nw_trace_reader_records(const struct nw_trace_reader *reader); /* returned so far */
uint64_t nw_trace_reader_skipped(const struct nw_trace_reader *reader); /* optional records skipped */
void nw_trace_reader_close(struct nw_trace_reader *reader);

/* Batches: the accesses that come next, each with the expectation that follows
 * it, decoded in one call (binary traces; replay's hot path). An item is a
 * compact access; its expectation's fields beyond the outcome, when it has
 * any, are in the batch's expects[] at the same index. */
#define NW_TRACE_BATCH 512
#define NW_TRACE_ITEM_CPL 0x03      /* item mode: the CPL ... */
#define NW_TRACE_ITEM_IMPLICIT 0x04 /* ... and the access flags above it (bit 0 implicit, bit 1 ac on disk) */
#define NW_TRACE_ITEM_AC 0x08
#define NW_TRACE_ITEM_UNPRIV 0x10 /* (bit 2 unpriv on disk) */

struct nw_trace_item {
	nw_gva_t gva;
	uint16_t size;    /* 1 .. NW_TRACE_MAX_ACCESS */
	uint8_t type;     /* enum nw_access_type */
	uint8_t mode;     /* NW_TRACE_ITEM_* */
	uint32_t present; /* the expectation's fields; 0: no expectation follows */
	uint8_t outcome;  /* the expected outcome when present has NW_EXPECT_OUTCOME, else 0 */
};

struct nw_trace_batch {
	size_t count;
	struct nw_trace_item items[NW_TRACE_BATCH];
	/* The whole expectation of items[i], written only when it has a field besides the outcome. */
	struct nw_trace_expect expects[NW_TRACE_BATCH];
};

/* Whether the item's expectation is held in the batch's expects[] (it has a field besides the outcome). */
static inline bool nw_trace_item_has_full_expect(const struct nw_trace_item *item)
{
	return (item->present & ~(1u << NW_EXPECT_OUTCOME)) != 0;
}

/* Fills batch with up to NW_TRACE_BATCH accesses (and the expectations right
 * after them) and returns how many; 0 when the next record is anything else
 * or needs a closer look (another kind, the end, a text trace, a record the
 * stream has not delivered yet, a problem): nw_trace_reader_next() then reads
 * it, reports it, and counts it exactly as always. The two may be mixed. */
size_t nw_trace_reader_batch(struct nw_trace_reader *reader, struct nw_trace_batch *batch);
/* An item as records: its access, and its expectation into *out (full: the
 * item's expects[] entry, read only when it has fields besides the outcome;
 * false when no expectation follows the access). */
struct nw_trace_access nw_trace_item_access(const struct nw_trace_item *item);
/* An access as an item without an expectation. */
struct nw_trace_item nw_trace_item_from_access(const struct nw_trace_access *access);
bool nw_trace_item_expect(const struct nw_trace_item *item, const struct nw_trace_expect *full,
			  struct nw_trace_expect *out);

/* Writing. PATH "-" is standard output; a file is written beside its place and
 * moved there by a successful close() (file_out.h), and open refuses a PATH that
 * is the same file as one of INPUTS (NULL-terminated, or NULL). put() rejects an
 * invalid record or an expectation out of order (nw_trace_expect_order_check); close()
 * writes the end record and returns 0, or -1 with the writer's error (the
 * writer is freed either way). */
struct nw_trace_writer;

struct nw_trace_writer *nw_trace_writer_open(const char *path, const char *const *inputs, enum nw_trace_form form,
					     bool zstd, char *err, size_t errlen);
/* A writer starts as x86_64; set_arch before the first put() makes it write a trace of arch (its version and
 * header, nw_trace_arch_check on each record). 0, or -1 once a record is written. */
int nw_trace_writer_set_arch(struct nw_trace_writer *writer, enum nw_trace_arch arch);
/* Before the first put(), makes it write version (1 .. NW_TRACE_VERSION; at least nw_trace_arch_version() of its
 * architecture, checked when the header is written): a conversion keeps its input's. put() refuses a record the
 * version cannot hold (nw_trace_version_check). 0, or -1 once a record is written or for a version unknown. */
int nw_trace_writer_set_version(struct nw_trace_writer *writer, unsigned version);
int nw_trace_writer_put(struct nw_trace_writer *writer, const struct nw_trace_record *rec);
const char *nw_trace_writer_error(const struct nw_trace_writer *writer);
int nw_trace_writer_close(struct nw_trace_writer *writer, char *err, size_t errlen);
/* Frees the writer without an end record: a file being written is removed (the one at PATH stays as it
 * was); standard output is left without one, so a reader rejects it as truncated. */
void nw_trace_writer_abandon(struct nw_trace_writer *writer);

/* A growable buffer a writer appends a trace to, after len. The caller owns
 * it ({0} is empty; free(data) releases it) and may reuse it: len = 0 keeps
 * the memory for the next trace. */
struct nw_trace_mem {
	uint8_t *data;
	size_t len, cap;
};

/* A writer into out instead of a file; after close() returns 0, out holds the whole trace. */
struct nw_trace_writer *nw_trace_writer_open_mem(struct nw_trace_mem *out, enum nw_trace_form form, bool zstd,
						 char *err, size_t errlen);

#endif
