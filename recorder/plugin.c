/* The QEMU side of the recorder: loaded by `qemu-system-x86_64 -plugin
 * file=nestwalk-recorder.so,...` (README "Recording a guest"), it instruments
 * each translated block so every guest memory access, and the fetch of each
 * block (or each instruction with fetch=insn), reaches the recording in
 * program order, each with its privilege (privilege.h); with regs=LOG also
 * each write of CR0, CR3, CR4 or EFER, read from QEMU's log when the next
 * block starts, and each invalidation. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nestwalk/cpu.h>

#include "cpu_log.h"
#include "decode.h"
#include "io/file_out.h"
#include "qemu_plugin_abi.h"
#include "privilege.h"
#include "ram_map.h"
#include "record.h"
#include "snapshot.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1u << PAGE_SHIFT)
#define SITES_PER_CHUNK 4096

NW_QEMU_PLUGIN_EXPORT int qemu_plugin_version = NW_QEMU_PLUGIN_VERSION;

/* An instrumented fetch: decided at translation, where the host pointer of the instruction is known; also an
 * instruction's address (and kind) for the callbacks that need them. */
struct fetch_site {
	uint64_t gva;
	uint32_t size;
	bool known;
	uint64_t gpa;
	enum nw_recorder_insn_kind kind;
};

/* Fetch sites live as long as the blocks that use them, which QEMU never reports freed: kept in chunks
 * until exit. */
struct site_chunk {
	struct site_chunk *next;
	unsigned used;
	struct fetch_site site[SITES_PER_CHUNK];
};

/* An instruction that may write CR0, CR3, CR4 or EFER, or an INVLPG: its state is logged where the next one starts. */
struct writer_site {
	struct writer_site *next;
	uint64_t gva, after;
	int cr; /* MOV to CRn: n; else -1 */
	bool invlpg; /* an INVLPG: the state logged after it gives its operand's registers */
	struct nw_recorder_mem_operand mem;
};

static struct {
	struct nw_recording rec;
	struct nw_ram_map ram;
	bool ram_loaded;
	struct site_chunk *chunks;
	bool out_of_memory;
	struct writer_site *writers;        /* every one translated, for writers=PATH and to free at exit */
	const struct writer_site *pending;  /* run, its state not yet read */
	bool snapshot_taken;
	struct nw_cpu_log log;
	struct nw_recorder_supervision supervision;
	char priv_why[256];
} recorder = { .supervision = { .supervisor = true } }; /* from reset (privilege.h) */

static void say(const char *line, bool error)
{
	char text[1280];

	snprintf(text, sizeof(text), "nestwalk-recorder: %s%s\n", error ? "error: " : "", line);
	qemu_plugin_outs(text);
	if (error)
		fputs(text, stderr); /* QEMU shows its log only with -d plugin: an error must not go unseen */
}

static struct fetch_site *site_new(void)
{
	struct site_chunk *chunk = recorder.chunks;

	if (!chunk || chunk->used == SITES_PER_CHUNK) {
		chunk = malloc(sizeof(*chunk));
		if (!chunk)
			return 0;
		chunk->next = recorder.chunks;
		chunk->used = 0;
		recorder.chunks = chunk;
	}
	return &chunk->site[chunk->used++];
}

/* The mappings of guest RAM, read on first need: RAM is mapped once the machine exists, after the plugin
 * loads and before the first translation. */
static const struct nw_ram_map *ram_map(void)
{
	if (!recorder.ram_loaded) {
		recorder.ram_loaded = true;
		if (nw_ram_map_load(&recorder.ram))
			say("/proc/self/maps unreadable: fetches are recorded without guest-physical addresses", true);
		if (recorder.rec.args.store_bytes && !recorder.ram.count)
			nw_recording_fail(&recorder.rec, "store_bytes=on reads guest RAM through its memfd: run QEMU with "
					  "-object memory-backend-memfd,id=ram,size=SIZE -machine memory-backend=ram");
	}
	return &recorder.ram;
}

/* The guest-physical address of a fetch from the host pointer of its first byte. */
static bool fetch_gpa(const void *host, uint64_t *gpa)
{
	uint64_t offset;

	if (!host)
		return false; /* fetched from a device */
	return nw_ram_map_offset(ram_map(), host, &offset) &&
	       nw_recorder_gpa_from_ram_offset(&recorder.rec.args.layout, offset, gpa);
}

/* One access to the recording; at the trigger, snapshot=PATH takes guest RAM as it is then (a triggering store's
 * bytes already in it: its gpwrite writes them again). */
static void put_access(const struct nw_recorder_access *access)
{
	char err[512];

	nw_recording_put(&recorder.rec, access);
	if (!recorder.rec.args.snapshot || recorder.snapshot_taken || recorder.rec.state != NW_RECORDER_RECORDING)
		return;
	recorder.snapshot_taken = true;
	if (nw_snapshot_write(recorder.rec.args.snapshot, ram_map(), &recorder.rec.args.layout, err, sizeof(err)) ||
	    (recorder.rec.args.scenario &&
	     nw_snapshot_scenario_write(recorder.rec.args.scenario, recorder.rec.args.snapshot, recorder.rec.args.out,
					&recorder.rec.regs, err, sizeof(err))))
		nw_recording_fail(&recorder.rec, err);
}

static bool read_guest64(void *ctx, uint64_t gpa, uint64_t *value)
{
	uint64_t offset;
	const uint8_t *host;

	(void)ctx;
	if (!nw_recorder_ram_offset_from_gpa(&recorder.rec.args.layout, gpa, &offset) ||
	    !(host = nw_ram_map_host(ram_map(), offset, sizeof(*value))))
		return false;
	memcpy(value, host, sizeof(*value));
	return true;
}

/* Whether the CPU is in real-address mode, as regs=LOG follows CR0. */
static bool in_real_mode(void)
{
	return recorder.rec.args.regs && !(recorder.rec.regs.cr0 & NW_CR0_PE);
}

/* An instruction that may leave supervisor mode is about to run (privilege.h). */
static void on_leave(unsigned int vcpu, void *userdata)
{
	const struct fetch_site *site = userdata;

	(void)vcpu;
	nw_recorder_supervision_leave(&recorder.supervision, site->kind, site->gva, in_real_mode());
}

/* The value a load read, from where QEMU loaded it (little-endian, as x86 is); false when not in RAM. */
static bool loaded_value(const struct nw_recorder_access *load, struct qemu_plugin_hwaddr *hw, uint64_t *value)
{
	const uint8_t *host;

	if (load->target != NW_RECORDER_RAM ||
	    !(host = nw_ram_map_host(ram_map(), qemu_plugin_hwaddr_phys_addr(hw), load->size)))
		return false;
	*value = 0;
	memcpy(value, host, load->size < sizeof(*value) ? load->size : sizeof(*value));
	return true;
}

static void on_fetch(unsigned int vcpu, void *userdata)
{
	const struct fetch_site *site = userdata;
	struct nw_recorder_access access = { .type = NW_ACCESS_FETCH };
	int cpl;

	(void)vcpu;
	if (recorder.rec.state >= NW_RECORDER_DONE)
		return; /* the sites may be freed already */
	cpl = nw_recorder_supervision_fetch(&recorder.supervision, recorder.rec.args.regs ? &recorder.rec.regs : 0,
					    site->gva, read_guest64, 0);
	if (cpl < 0)
		access.unknown_privilege = recorder.supervision.why;
	access.cpl = (uint8_t)(cpl < 0 ? 0 : cpl);
	access.gva = site->gva;
	access.size = site->size;
	access.target = site->known ? NW_RECORDER_RAM : NW_RECORDER_UNKNOWN;
	access.gpa = site->gpa;
	put_access(&access);
}

static void on_memory(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *userdata)
{
	struct qemu_plugin_hwaddr *hw = qemu_plugin_get_hwaddr(info, vaddr);
	struct nw_recorder_access access = { .gva = vaddr, .size = 1u << qemu_plugin_mem_size_shift(info),
					     .type = qemu_plugin_mem_is_store(info) ? NW_ACCESS_WRITE : NW_ACCESS_READ,
					     .target = NW_RECORDER_UNKNOWN };
	struct nw_recorder_priv priv;

	(void)vcpu;
	(void)userdata;
	if (recorder.rec.state >= NW_RECORDER_DONE)
		return;
	if (!nw_recorder_priv_of_mmu_index(NW_RECORDER_MMU_INDEX(info), &priv)) {
		snprintf(recorder.priv_why, sizeof(recorder.priv_why), "QEMU checked it with MMU index %u, which is no "
			 "CPU mode's", NW_RECORDER_MMU_INDEX(info));
		access.unknown_privilege = recorder.priv_why;
	} else if (priv.cpl == 3 && recorder.supervision.supervisor) {
		/* Supervisor code makes no user-mode access: QEMU numbers its indexes otherwise than privilege.h. */
		snprintf(recorder.priv_why, sizeof(recorder.priv_why), "QEMU checked it with MMU index %u, user-mode in "
			 "Debian's QEMU 7.2, from supervisor code: this QEMU numbers its indexes otherwise",
			 NW_RECORDER_MMU_INDEX(info));
		access.unknown_privilege = recorder.priv_why;
	}
	access.cpl = priv.cpl;
	access.ac = priv.ac;
	if (hw && qemu_plugin_hwaddr_is_io(hw)) {
		access.target = NW_RECORDER_MMIO;
		access.gpa = qemu_plugin_hwaddr_phys_addr(hw);
	} else if (hw && nw_recorder_gpa_from_ram_offset(&recorder.rec.args.layout, qemu_plugin_hwaddr_phys_addr(hw),
							  &access.gpa)) {
		access.target = NW_RECORDER_RAM;
		if (recorder.rec.args.store_bytes && access.type == NW_ACCESS_WRITE) {
			/* The callback runs after the store: memory holds its bytes. Those past the page may belong
			 * to another guest-physical page, which only the guest's tables tell. */
			access.len = (uint32_t)(PAGE_SIZE - (access.gpa & (PAGE_SIZE - 1)));
			access.len = access.len < access.size ? access.len : access.size;
			access.bytes = nw_ram_map_host(ram_map(), qemu_plugin_hwaddr_phys_addr(hw), access.len);
		}
	}
	if (recorder.supervision.returning && access.type == NW_ACCESS_READ) {
		uint64_t value = 0;
		bool readable = loaded_value(&access, hw, &value);

		nw_recorder_supervision_load(&recorder.supervision, readable, value);
	}
	put_access(&access);
}

static void on_writer(unsigned int vcpu, void *userdata)
{
	(void)vcpu;
	if (recorder.rec.state >= NW_RECORDER_DONE)
		return;
	if (!recorder.log.file) {
		char err[512];

		/* QEMU creates its log once the plugin is installed: opened at the first write. */
		if (nw_cpu_log_open(&recorder.log, recorder.rec.args.regs, err, sizeof(err))) {
			nw_recording_fail(&recorder.rec, err);
			return;
		}
	}
	nw_cpu_log_skip(&recorder.log);
	recorder.pending = userdata;
}

/* The block after an INVLPG: its address from the registers QEMU logged there (INVLPG changes none), in 64-bit
 * mode; else every entry goes (nw_recording_invalidate), which is at least what INVLPG invalidated. */
static void invalidate_page(const struct writer_site *w, uint64_t start)
{
	struct nw_cpu_state state;

	if (start == w->after && nw_cpu_log_read(&recorder.log, &state) && state.long64)
		nw_recording_invlpg(&recorder.rec, nw_recorder_mem_address(&w->mem, &state, w->after));
	else
		nw_recording_invalidate(&recorder.rec);
}

/* The first block after a register write: QEMU logged its state before running it (cpu_log.h). None logged
 * means the next block is not the instruction after the write (an interrupt or a fault came first), or its
 * address is not in -dfilter: the value is not known, and nothing is guessed. */
static void on_block_start(unsigned int vcpu, void *userdata)
{
	const struct writer_site *w = recorder.pending;
	uint64_t start = *(const uint64_t *)userdata;
	struct nw_cpu_state state;
	char why[512];

	(void)vcpu;
	if (!w || recorder.rec.state >= NW_RECORDER_DONE)
		return;
	recorder.pending = 0;
	if (w->invlpg) {
		invalidate_page(w, start);
		return;
	}
	if (nw_cpu_log_read(&recorder.log, &state)) {
		nw_recording_regs(&recorder.rec, &state.regs, w->cr);
		return;
	}
	if (*(const uint64_t *)userdata == w->after)
		snprintf(why, sizeof(why), "the register write at gva 0x%" PRIx64 " (after access %" PRIu64 " of the "
			 "trace) has no CPU state in %s: 0x%" PRIx64 "+1, the instruction after it, is not in -dfilter "
			 "with -d cpu", w->gva, recorder.rec.written, recorder.rec.args.regs, w->after);
	else
		snprintf(why, sizeof(why), "the register write at gva 0x%" PRIx64 " (after access %" PRIu64 " of the "
			 "trace) has no CPU state in %s: the next block started at 0x%" PRIx64 ", not at 0x%" PRIx64
			 " after it (an interrupt or a fault came first)", w->gva, recorder.rec.written,
			 recorder.rec.args.regs, *(const uint64_t *)userdata, w->after);
	nw_recording_fail(&recorder.rec, why);
}

static void on_invalidate(unsigned int vcpu, void *userdata)
{
	(void)vcpu;
	(void)userdata;
	if (recorder.rec.state < NW_RECORDER_DONE)
		nw_recording_invalidate(&recorder.rec);
}

/* cb before the instruction runs, given its address and kind; false when out of memory. */
static bool watch_address(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
			  enum nw_recorder_insn_kind kind)
{
	struct fetch_site *at = site_new();

	if (!at) {
		recorder.out_of_memory = true;
		return false;
	}
	at->gva = qemu_plugin_insn_vaddr(insn);
	at->kind = kind;
	qemu_plugin_register_vcpu_insn_exec_cb(insn, cb, QEMU_PLUGIN_CB_NO_REGS, at);
	return true;
}

/* regs=LOG: the block's first instruction reports where the block starts after a write; a writer and an
 * invalidation are watched. */
static void watch_regs(struct qemu_plugin_insn *insn, size_t i, struct nw_recorder_insn what)
{
	struct writer_site *w;

	if (i == 0 && recorder.rec.args.regs && !watch_address(insn, on_block_start, what.kind))
		return;
	if (recorder.rec.args.regs && what.kind == NW_INSN_INVPCID) {
		qemu_plugin_register_vcpu_insn_exec_cb(insn, on_invalidate, QEMU_PLUGIN_CB_NO_REGS, 0);
		return;
	}
	if (!nw_recorder_insn_writes_regs(&what) && what.kind != NW_INSN_INVLPG)
		return;
	w = malloc(sizeof(*w));
	if (!w) {
		recorder.out_of_memory = true;
		return;
	}
	*w = (struct writer_site){ .next = recorder.writers, .gva = qemu_plugin_insn_vaddr(insn),
				   .after = qemu_plugin_insn_vaddr(insn) + qemu_plugin_insn_size(insn),
				   .cr = what.kind == NW_INSN_MOV_CR ? (int)what.cr : -1,
				   .invlpg = what.kind == NW_INSN_INVLPG, .mem = what.mem };
	recorder.writers = w;
	if (recorder.rec.args.regs)
		qemu_plugin_register_vcpu_insn_exec_cb(insn, on_writer, QEMU_PLUGIN_CB_NO_REGS, w);
}

static void watch_fetch(struct qemu_plugin_insn *insn)
{
	struct fetch_site *site = site_new();

	if (!site) {
		recorder.out_of_memory = true;
		return;
	}
	site->gva = qemu_plugin_insn_vaddr(insn);
	site->size = (uint32_t)qemu_plugin_insn_size(insn);
	site->known = fetch_gpa(qemu_plugin_insn_haddr(insn), &site->gpa);
	qemu_plugin_register_vcpu_insn_exec_cb(insn, on_fetch, QEMU_PLUGIN_CB_NO_REGS, site);
}

/* Whether the fetch of instruction i of a block is recorded: every one, or the first and each on a new page. */
static bool records_fetch(const struct qemu_plugin_tb *tb, size_t i)
{
	if (i == 0 || recorder.rec.args.fetch == NW_RECORDER_FETCH_INSN)
		return true;
	return qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i)) >> PAGE_SHIFT !=
	       qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i - 1)) >> PAGE_SHIFT;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	if (recorder.rec.state >= NW_RECORDER_DONE && !recorder.rec.args.writers)
		return; /* writers=PATH lists every writer QEMU ran, recorded or not */
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		struct nw_recorder_insn what = nw_recorder_insn_decode(qemu_plugin_insn_data(insn),
								       qemu_plugin_insn_size(insn));

		/* In this order: the registers a write left come before the next fetch, which comes before the
		 * instruction's own loads (a return's CS among them). */
		if (recorder.rec.args.regs || recorder.rec.args.writers)
			watch_regs(insn, i, what);
		if (records_fetch(tb, i))
			watch_fetch(insn);
		if (what.kind == NW_INSN_LEAVES || what.kind == NW_INSN_RETURN || what.kind == NW_INSN_IRET)
			watch_address(insn, on_leave, what.kind);
		qemu_plugin_register_vcpu_mem_cb(insn, on_memory, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, 0);
	}
}

static int by_address(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* writers=PATH: the addresses after every register writer translated, once each, as -dfilter takes them. */
static int write_writers(char *err, size_t errlen)
{
	struct nw_file_out out;
	uint64_t *after;
	size_t n = 0, k = 0;
	bool first = true;

	for (const struct writer_site *w = recorder.writers; w; w = w->next)
		n++;
	after = malloc((n ? n : 1) * sizeof(*after));
	if (!after) {
		snprintf(err, errlen, "%s: out of memory", recorder.rec.args.writers);
		return -1;
	}
	for (const struct writer_site *w = recorder.writers; w; w = w->next)
		after[k++] = w->after;
	qsort(after, n, sizeof(*after), by_address);
	if (nw_file_out_open(&out, recorder.rec.args.writers, 0, err, errlen)) {
		free(after);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (i && after[i] == after[i - 1])
			continue;
		fprintf(out.file, "%s0x%" PRIx64 "+1", first ? "" : ",", after[i]);
		first = false;
	}
	fputc('\n', out.file);
	free(after);
	return nw_file_out_commit(&out, err, errlen);
}

static void on_qemu_exit(qemu_plugin_id_t id, void *userdata)
{
	char line[1024];

	(void)id;
	(void)userdata;
	if (recorder.out_of_memory)
		nw_recording_fail(&recorder.rec, "out of memory for the blocks' fetch sites");
	if (recorder.rec.args.writers && write_writers(line, sizeof(line)))
		say(line, true);
	if (nw_recording_close(&recorder.rec)) {
		say(recorder.rec.error, true);
	} else {
		nw_recording_summary(&recorder.rec, line, sizeof(line));
		say(line, false);
	}
	while (recorder.chunks) {
		struct site_chunk *next = recorder.chunks->next;

		free(recorder.chunks);
		recorder.chunks = next;
	}
	while (recorder.writers) {
		struct writer_site *next = recorder.writers->next;

		free(recorder.writers);
		recorder.writers = next;
	}
	nw_cpu_log_close(&recorder.log);
}

NW_QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	struct nw_recorder_args args;
	char err[512];

	if (!info->system_emulation || strcmp(info->target_name, "x86_64")) {
		say("records qemu-system-x86_64 only (guest-physical addresses need system emulation)", true);
		return 1;
	}
	if (info->system.smp_vcpus != 1) {
		say("records one vCPU (-smp 1): a trace is one CPU's accesses in program order", true);
		return 1;
	}
	if (nw_recorder_args_parse(argc, argv, &args, err, sizeof(err)) ||
	    nw_recording_open(&recorder.rec, &args, err, sizeof(err))) {
		say(err, true);
		return 1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, on_qemu_exit, 0);
	return 0;
}
