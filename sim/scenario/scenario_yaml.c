/* Loading a scenario file with libfyaml: the document is parsed whole, then
 * each section is read by its own function that rejects unknown keys. */
#define _GNU_SOURCE
#include <libfyaml.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file_map.h"
#include "io/grow.h"
#include "scenario/scenario.h"
#include "scenario/scenario_arm64.h"
#include "scenario/scenario_checks.h"
#include "scenario/scenario_keys.h"

struct loader {
	const char *file;
	char *err;
	size_t errlen;
	struct nw_scenario *sc;
	const char *stage2_key; /* "stage2" or its old name "ept", once one is read */
};

/* Position of a node: a scalar's own token; a collection's first item (its
 * nodes carry no mark of their own in libfyaml's document API); else the
 * fallback, the position of the key that introduced it. */
static struct nw_scenario_pos node_pos(struct fy_node *node, struct nw_scenario_pos fallback)
{
	void *iter = NULL;

	if (!node)
		return fallback;
	if (fy_node_is_scalar(node)) {
		struct fy_token *token = fy_node_get_scalar_token(node);
		const struct fy_mark *mark = token ? fy_token_start_mark(token) : NULL;

		if (mark)
			return (struct nw_scenario_pos){ mark->line + 1, mark->column + 1 };
		return fallback;
	}
	if (fy_node_is_mapping(node)) {
		struct fy_node_pair *pair = fy_node_mapping_iterate(node, &iter);

		return pair ? node_pos(fy_node_pair_key(pair), fallback) : fallback;
	}
	if (fy_node_is_sequence(node))
		return node_pos(fy_node_sequence_iterate(node, &iter), fallback);
	return fallback;
}

static __attribute__((format(printf, 3, 4))) int fail(struct loader *ld, struct nw_scenario_pos pos,
						     const char *fmt, ...)
{
	int used = snprintf(ld->err, ld->errlen, "%s:%d:%d: ", ld->file, pos.line, pos.column);
	va_list ap;

	if (used >= 0 && (size_t)used < ld->errlen) {
		va_start(ap, fmt);
		vsnprintf(ld->err + used, ld->errlen - (size_t)used, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The text of a scalar node, NUL-terminated in buf; -1 (reported) when the
 * node is not a plain scalar or does not fit. */
static int scalar_text(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at, const char *what,
		       char *buf, size_t buflen)
{
	const char *text;
	size_t len;

	if (!node || !fy_node_is_scalar(node) || fy_node_is_alias(node))
		return fail(ld, node_pos(node, at), "%s: expected a scalar", what);
	text = fy_node_get_scalar(node, &len);
	if (!text || len >= buflen)
		return fail(ld, node_pos(node, at), "%s: value too long", what);
	memcpy(buf, text, len);
	buf[len] = '\0';
	return 0;
}

int nw_scenario_parse_u64(const char *text, size_t len, uint64_t *out)
{
	static const struct {
		char suffix;
		unsigned shift;
	} suffixes[] = { { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 } };
	unsigned base = 10, shift = 0;
	uint64_t value = 0;
	size_t i = 0;

	for (size_t s = 0; s < sizeof(suffixes) / sizeof(suffixes[0]); s++)
		if (len && (text[len - 1] == suffixes[s].suffix || text[len - 1] == suffixes[s].suffix + 32)) {
			shift = suffixes[s].shift;
			len--;
			break;
		}
	if (len > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		char c = text[i];
		unsigned digit;

		if (c == '_')
			continue;
		if (c >= '0' && c <= '9')
			digit = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			digit = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			digit = (unsigned)(c - 'A' + 10);
		else
			return -1;
		if (digit >= base || value > (UINT64_MAX - digit) / base)
			return -1;
		value = value * base + digit;
	}
	if (shift && value > (UINT64_MAX >> shift))
		return -1;
	*out = value << shift;
	return 0;
}

static int get_u64(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at, const char *what,
		   uint64_t *out)
{
	char buf[80];

	if (scalar_text(ld, node, at, what, buf, sizeof(buf)))
		return -1;
	if (nw_scenario_parse_u64(buf, strlen(buf), out))
		return fail(ld, node_pos(node, at), "%s: '%s' is not a number (decimal, 0x hex, K/M/G/T suffix)",
			    what, buf);
	return 0;
}

static int get_u64_max(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at, const char *what,
		       uint64_t max, uint64_t *out)
{
	if (get_u64(ld, node, at, what, out))
		return -1;
	if (*out > max)
		return fail(ld, node_pos(node, at), "%s: %#llx is above the largest allowed value %#llx", what,
			    (unsigned long long)*out, (unsigned long long)max);
	return 0;
}

static int get_bool(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at, const char *what, bool *out)
{
	char buf[16];

	if (scalar_text(ld, node, at, what, buf, sizeof(buf)))
		return -1;
	if (!strcmp(buf, "true"))
		*out = true;
	else if (!strcmp(buf, "false"))
		*out = false;
	else
		return fail(ld, node_pos(node, at), "%s: expected true or false, not '%s'", what, buf);
	return 0;
}

/* Index of the scalar's text in names[], or -1 (reported). */
static int get_choice(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at, const char *what,
		      const char *const *names, int count)
{
	char buf[32];

	if (scalar_text(ld, node, at, what, buf, sizeof(buf)))
		return -1;
	for (int i = 0; i < count; i++)
		if (names[i] && !strcmp(buf, names[i]))
			return i;
	return fail(ld, node_pos(node, at), "%s: unknown value '%s'", what, buf);
}

/* Iterates a mapping's pairs; each key must be a scalar. */
struct pair_iter {
	struct fy_node *map;
	void *state;
	char key[64];
	struct nw_scenario_pos key_pos;
	struct fy_node *value;
};

static int expect_mapping(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at, const char *what)
{
	if (!node || !fy_node_is_mapping(node))
		return fail(ld, node_pos(node, at), "%s: expected a mapping of keys to values", what);
	return 0;
}

static int expect_sequence(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at, const char *what)
{
	if (!node || !fy_node_is_sequence(node))
		return fail(ld, node_pos(node, at), "%s: expected a list", what);
	return 0;
}

/* 1 with the next pair in it, 0 at the end, -1 on a bad key (reported). */
static int next_pair(struct loader *ld, struct pair_iter *it, const char *what)
{
	struct fy_node_pair *pair = fy_node_mapping_iterate(it->map, &it->state);
	struct fy_node *key;

	if (!pair)
		return 0;
	key = fy_node_pair_key(pair);
	it->key_pos = node_pos(key, node_pos(it->map, (struct nw_scenario_pos){ 1, 1 }));
	if (scalar_text(ld, key, it->key_pos, what, it->key, sizeof(it->key)))
		return -1;
	it->value = fy_node_pair_value(pair);
	return 1;
}

static int unknown_key(struct loader *ld, const struct pair_iter *it, const char *what)
{
	return fail(ld, it->key_pos, "unknown key '%s' in %s", it->key, what);
}

static const char *const region_types[] = { "alloc", "identical", "mmio", "rom" };

static int load_region(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	struct pair_iter it = { .map = node };
	struct nw_scenario_region *item;
	bool has_gpa = false, has_size = false, has_type = false;
	uint64_t value;
	int got;

	if (expect_mapping(ld, node, at, "memory_regions entry"))
		return -1;
	ld->sc->regions = nw_grow(ld->sc->regions, &ld->sc->region_cap, ld->sc->region_count, sizeof(*item));
	item = &ld->sc->regions[ld->sc->region_count++];
	item->pos = node_pos(node, at);
	item->region.flags = NW_REGION_READ | NW_REGION_WRITE | NW_REGION_EXEC;
	while ((got = next_pair(ld, &it, "memory_regions entry")) > 0) {
		if (!strcmp(it.key, "gpa")) {
			if (get_u64(ld, it.value, it.key_pos, "gpa", &value))
				return -1;
			item->region.base = nw_gpa(value);
			has_gpa = true;
		} else if (!strcmp(it.key, "size")) {
			if (get_u64(ld, it.value, it.key_pos, "size", &item->region.size))
				return -1;
			has_size = true;
		} else if (!strcmp(it.key, "flags")) {
			if (get_u64_max(ld, it.value, it.key_pos, "flags", NW_REGION_FLAGS_ALL, &value))
				return -1;
			item->region.flags = (uint32_t)value;
		} else if (!strcmp(it.key, "type")) {
			int type = get_choice(ld, it.value, it.key_pos, "type", region_types, 4);

			if (type < 0)
				return -1;
			item->region.type = (enum nw_region_type)type;
			has_type = true;
		} else if (!strcmp(it.key, "lazy")) {
			if (get_bool(ld, it.value, it.key_pos, "lazy", &item->region.lazy))
				return -1;
		} else {
			return unknown_key(ld, &it, "a memory region");
		}
	}
	if (got < 0)
		return -1;
	if (!has_gpa || !has_size || !has_type)
		return fail(ld, item->pos, "a memory region needs gpa, size and type");
	return 0;
}

static int load_regions(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	void *iter = NULL;
	struct fy_node *item;

	if (expect_sequence(ld, node, at, "memory_regions"))
		return -1;
	while ((item = fy_node_sequence_iterate(node, &iter)))
		if (load_region(ld, item, node_pos(node, at)))
			return -1;
	return 0;
}

static int load_edit(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	struct pair_iter it = { .map = node };
	struct nw_scenario_edit *edit;
	bool has_gpa = false, has_level = false;
	uint64_t value;
	int got;

	if (expect_mapping(ld, node, at, "edits entry"))
		return -1;
	ld->sc->edits = nw_grow(ld->sc->edits, &ld->sc->edit_cap, ld->sc->edit_count, sizeof(*edit));
	edit = &ld->sc->edits[ld->sc->edit_count++];
	edit->pos = node_pos(node, at);
	while ((got = next_pair(ld, &it, "edits entry")) > 0) {
		if (!strcmp(it.key, "gpa")) {
			if (get_u64(ld, it.value, it.key_pos, "gpa", &edit->gpa))
				return -1;
			has_gpa = true;
		} else if (!strcmp(it.key, "level")) {
			/* Which levels exist depends on arch (scenario_arm64.c checks them): x86 1 (PT) to 5,
			 * Arm 0 to 3. */
			if (get_u64_max(ld, it.value, it.key_pos, "level", NW_MAX_LEVELS, &value))
				return -1;
			edit->level = edit->table_level = (int)value;
			edit->level_pos = node_pos(it.value, it.key_pos);
			has_level = true;
		} else if (!strcmp(it.key, "set")) {
			if (get_u64(ld, it.value, it.key_pos, "set", &edit->set))
				return -1;
		} else if (!strcmp(it.key, "clear")) {
			if (get_u64(ld, it.value, it.key_pos, "clear", &edit->clear))
				return -1;
		} else {
			return unknown_key(ld, &it, "an edit");
		}
	}
	if (got < 0)
		return -1;
	if (!has_gpa || !has_level)
		return fail(ld, edit->pos, "an edit needs gpa and level");
	return 0;
}

/* One item of vms: its vmid and memory_regions, the regions read by the scenario's own reader. */
static int load_vm(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	struct nw_scenario *sc = ld->sc;
	struct pair_iter it = { .map = node };
	struct nw_scenario_vm *vm;
	bool has_regions = false;
	int got;

	if (expect_mapping(ld, node, at, "vms entry"))
		return -1;
	sc->vms = nw_grow(sc->vms, &sc->vm_cap, sc->vm_count, sizeof(*vm));
	vm = &sc->vms[sc->vm_count++];
	*vm = (struct nw_scenario_vm){ .pos = node_pos(node, at) };
	while ((got = next_pair(ld, &it, "vms entry")) > 0) {
		if (!strcmp(it.key, "vmid")) {
			vm->vmid_pos = node_pos(it.value, it.key_pos);
			if (get_u64(ld, it.value, it.key_pos, "vmid", &vm->vmid))
				return -1;
		} else if (!strcmp(it.key, "memory_regions")) {
			/* The scenario's list reader fills the scenario's list: lend it this VM's. */
			struct nw_scenario_region *own = sc->regions;
			size_t count = sc->region_count, cap = sc->region_cap;
			int rc;

			sc->regions = NULL;
			sc->region_count = sc->region_cap = 0;
			rc = load_regions(ld, it.value, it.key_pos);
			vm->regions = sc->regions;
			vm->region_count = sc->region_count;
			vm->region_cap = sc->region_cap;
			sc->regions = own;
			sc->region_count = count;
			sc->region_cap = cap;
			if (rc)
				return -1;
			has_regions = true;
		} else {
			return unknown_key(ld, &it, "a VM (vms entry: vmid, memory_regions)");
		}
	}
	if (got < 0)
		return -1;
	if (!vm->vmid_pos.line || !has_regions)
		return fail(ld, vm->pos, "a VM (vms entry) needs vmid and memory_regions");
	return 0;
}

static int load_vms(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	void *iter = NULL;
	struct fy_node *item;

	ld->sc->vms_pos = at;
	if (expect_sequence(ld, node, at, "vms"))
		return -1;
	while ((item = fy_node_sequence_iterate(node, &iter)))
		if (load_vm(ld, item, node_pos(node, at)))
			return -1;
	return 0;
}

/* format's values: a second-stage kind, or (after them) a RISC-V G-stage mode, hgatp.MODE 8 + (index - SV39X4). */
enum { FORMAT_SV39X4 = NW_STAGE2_RISCV + 1, FORMAT_COUNT = FORMAT_SV39X4 + 3 };
static const char *const formats[FORMAT_COUNT] = { [NW_STAGE2_NONE] = "none",
						   [NW_STAGE2_EPT] = "ept",
						   [NW_STAGE2_NPT] = "npt",
						   [NW_STAGE2_ARM64] = "arm64",
						   [FORMAT_SV39X4] = "sv39x4",
						   "sv48x4",
						   "sv57x4" };
static const char *const arches[] = {
	[NW_SCENARIO_X86_64] = "x86_64", [NW_SCENARIO_AARCH64] = "aarch64", [NW_SCENARIO_RISCV64] = "riscv64"
};

static const char *const memory_types[] = { "uc", NULL, NULL, NULL, NULL, NULL, "wb" };

/* An architecture's key's value and position, checked once the architecture is known (scenario_keys.h). */
static int load_arch_key(struct loader *ld, const struct nw_scenario_key *key, const struct pair_iter *it)
{
	struct nw_scenario_pos *pos = (void *)((char *)ld->sc + key->pos);
	uint64_t *value = (void *)((char *)ld->sc + key->value);
	bool on = false;

	*pos = node_pos(it->value, it->key_pos);
	if (key->choices) {
		int count = 0, choice;

		while (key->choices[count])
			count++;
		if ((choice = get_choice(ld, it->value, it->key_pos, it->key, key->choices, count)) < 0)
			return -1;
		*value = (uint64_t)choice;
		return 0;
	}
	if (!key->flag)
		return get_u64(ld, it->value, it->key_pos, it->key, value);
	if (get_bool(ld, it->value, it->key_pos, it->key, &on))
		return -1;
	*value = on;
	return 0;
}

/* The second-stage section, key "stage2" or its old name "ept" (one of them). */
static int load_stage2(struct loader *ld, const char *key, struct fy_node *node, struct nw_scenario_pos at)
{
	const struct nw_scenario_key *arch_key;
	struct nw_aspace_config *cfg = &ld->sc->stage2;
	struct pair_iter it = { .map = node };
	uint64_t value;
	int got, choice;

	if (ld->stage2_key)
		return fail(ld, at, "%s: the second stage is given already as %s (%d:%d): ept is the old name of stage2, "
			    "give one", key, ld->stage2_key, ld->sc->stage2_pos.line, ld->sc->stage2_pos.column);
	ld->stage2_key = key;
	ld->sc->stage2_pos = at;
	if (expect_mapping(ld, node, at, key))
		return -1;
	while ((got = next_pair(ld, &it, key)) > 0) {
		if (!strcmp(it.key, "levels")) {
			ld->sc->levels_pos = it.key_pos;
			if (get_u64(ld, it.value, it.key_pos, "levels", &value))
				return -1;
			if (value != 4 && value != 5)
				return fail(ld, node_pos(it.value, it.key_pos), "levels: must be 4 or 5");
			cfg->levels = (unsigned)value;
		} else if (!strcmp(it.key, "accessed_dirty")) {
			if (get_bool(ld, it.value, it.key_pos, "accessed_dirty", &cfg->accessed_dirty))
				return -1;
			ld->sc->ad_pos = it.key_pos;
		} else if (!strcmp(it.key, "mode_based_execute")) {
			if (get_bool(ld, it.value, it.key_pos, "mode_based_execute", &cfg->mode_based_execute))
				return -1;
			ld->sc->mbec_pos = it.key_pos;
		} else if (!strcmp(it.key, "memory_type")) {
			if ((choice = get_choice(ld, it.value, it.key_pos, "memory_type", memory_types, 7)) < 0)
				return -1;
			ld->sc->memory_type_pos = it.key_pos;
			cfg->memory_type = (uint8_t)choice;
		} else if (!strcmp(it.key, "format")) {
			choice = get_choice(ld, it.value, it.key_pos,
					    "format (ept, npt, arm64, sv39x4, sv48x4, sv57x4 or none)", formats,
					    FORMAT_COUNT);
			if (choice < 0)
				return -1;
			cfg->format = choice >= FORMAT_SV39X4 ? NW_STAGE2_RISCV : (enum nw_stage2_kind)choice;
			if (choice >= FORMAT_SV39X4)
				ld->sc->riscv.mode = NW_RV_HGATP_SV39X4 + (unsigned)(choice - FORMAT_SV39X4);
			ld->sc->format_pos = node_pos(it.value, it.key_pos);
		} else if ((arch_key = nw_scenario_key_find(nw_scenario_stage2_keys, NW_SCENARIO_STAGE2_KEYS,
							    it.key))) {
			if (load_arch_key(ld, arch_key, &it))
				return -1;
		} else if (!strcmp(it.key, "edits")) {
			void *iter = NULL;
			struct fy_node *item;

			if (expect_sequence(ld, it.value, it.key_pos, "edits"))
				return -1;
			while ((item = fy_node_sequence_iterate(it.value, &iter)))
				if (load_edit(ld, item, it.key_pos))
					return -1;
		} else {
			return unknown_key(ld, &it, key);
		}
	}
	return got;
}

static int load_host(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	struct pair_iter it = { .map = node };
	int got;

	ld->sc->host_pos = at;
	if (expect_mapping(ld, node, at, "host"))
		return -1;
	while ((got = next_pair(ld, &it, "host")) > 0) {
		if (!strcmp(it.key, "memory")) {
			if (get_u64(ld, it.value, it.key_pos, "memory", &ld->sc->host_memory))
				return -1;
			ld->sc->host_memory_pos = node_pos(it.value, it.key_pos);
			if (ld->sc->host_memory < (UINT64_C(1) << 20) || ld->sc->host_memory > (UINT64_C(1) << 46))
				return fail(ld, ld->sc->host_memory_pos, "memory: must be 1M to 64T");
		} else if (!strcmp(it.key, "seed")) {
			if (get_u64(ld, it.value, it.key_pos, "seed", &ld->sc->host_seed))
				return -1;
		} else {
			return unknown_key(ld, &it, "host");
		}
	}
	return got;
}

static int feature_index(const char *name)
{
	for (int i = 0; i < NW_FEATURE_COUNT; i++)
		if (!strcmp(nw_cpu_feature_names[i], name))
			return i;
	return -1;
}

static int load_preset(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at, const char *what)
{
	char name[64];

	if (scalar_text(ld, node, at, what, name, sizeof(name)))
		return -1;
	if (!nw_cpu_features_preset(name, &ld->sc->features))
		return fail(ld, node_pos(node, at), "%s: unknown CPU preset '%s' (presets: %s)", what, name,
			    nw_cpu_feature_preset_list());
	return 0;
}

/* One override of a mapping: a feature true or false, or maxphyaddr. With a preset an override may only take away:
 * a feature the preset's processor lacks, or a wider physical address, it does not have. */
static int load_feature(struct loader *ld, const struct pair_iter *it, bool preset)
{
	struct nw_cpu_features *f = &ld->sc->features;
	int index = feature_index(it->key);
	uint64_t value;
	bool on = false; /* -O3 cannot see that get_bool sets it whenever it returns 0 */

	if (!strcmp(it->key, "maxphyaddr")) {
		if (get_u64(ld, it->value, it->key_pos, "maxphyaddr", &value))
			return -1;
		if (value < NW_MAXPHYADDR_MIN || value > NW_MAXPHYADDR_MAX)
			return fail(ld, node_pos(it->value, it->key_pos), "maxphyaddr: must be 36 to 52");
		if (preset && value > f->maxphyaddr)
			return fail(ld, node_pos(it->value, it->key_pos), "maxphyaddr: %s has MAXPHYADDR %u, not %u",
				    f->preset, f->maxphyaddr, (unsigned)value);
		f->maxphyaddr = (unsigned)value;
		ld->sc->maxphyaddr_pos = it->key_pos;
		return 0;
	}
	if (index < 0)
		return fail(ld, it->key_pos, "unknown CPU feature '%s' in cpu.features", it->key);
	if (get_bool(ld, it->value, it->key_pos, it->key, &on))
		return -1;
	if (preset && on && !f->has[index])
		return fail(ld, node_pos(it->value, it->key_pos), "%s: the %s preset does not have this feature",
			    it->key, f->preset);
	f->has[index] = on;
	return 0;
}

/* cpu.features: a preset's name, or a mapping of features (every feature unless it names a preset) with
 * maxphyaddr. */
static int load_features(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	struct fy_node *preset = NULL;
	struct pair_iter it = { .map = node };
	int got;

	ld->sc->has_features = true;
	ld->sc->features_pos = node_pos(node, at);
	ld->sc->features = nw_cpu_features_all();
	if (node && fy_node_is_scalar(node))
		return load_preset(ld, node, at, "features");
	if (expect_mapping(ld, node, at, "features (a preset name or a mapping)"))
		return -1;
	preset = fy_node_mapping_lookup_by_string(node, "preset", FY_NT);
	if (preset && load_preset(ld, preset, at, "preset"))
		return -1;
	while ((got = next_pair(ld, &it, "features")) > 0) {
		if (!strcmp(it.key, "preset"))
			continue;
		if (load_feature(ld, &it, preset != NULL))
			return -1;
		ld->sc->features.overridden = true;
	}
	return got;
}

static const char *const modes[] = { "off", "32bit", "pae", "4level", "5level" };

static int load_cpu(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	struct nw_cpu *cpu = &ld->sc->cpu;
	struct pair_iter it = { .map = node };
	uint64_t value;
	int got;

	if (expect_mapping(ld, node, at, "cpu"))
		return -1;
	ld->sc->cpu_pos = at;
	while ((got = next_pair(ld, &it, "cpu")) > 0) {
		const struct nw_scenario_key *arch_key = nw_scenario_key_find(nw_scenario_cpu_keys,
									      NW_SCENARIO_CPU_KEYS, it.key);

		if (arch_key) {
			if (load_arch_key(ld, arch_key, &it))
				return -1;
			continue;
		}
		if (!ld->sc->x86_cpu_pos.line)
			ld->sc->x86_cpu_pos = it.key_pos;
		if (!strcmp(it.key, "mode")) {
			if ((ld->sc->mode = get_choice(ld, it.value, it.key_pos, "mode", modes, 5)) < 0)
				return -1;
			ld->sc->has_mode = true;
			ld->sc->mode_pos = node_pos(it.value, it.key_pos);
		} else if (!strcmp(it.key, "cr0")) {
			if (get_u64(ld, it.value, it.key_pos, "cr0", &cpu->cr0))
				return -1;
			ld->sc->cpu_given |= NW_SCENARIO_GIVES_CR0;
		} else if (!strcmp(it.key, "cr3")) {
			if (get_u64(ld, it.value, it.key_pos, "cr3", &cpu->cr3))
				return -1;
			ld->sc->cpu_given |= NW_SCENARIO_GIVES_CR3;
		} else if (!strcmp(it.key, "cr4")) {
			if (get_u64(ld, it.value, it.key_pos, "cr4", &cpu->cr4))
				return -1;
			ld->sc->cr4_pos = node_pos(it.value, it.key_pos);
			ld->sc->cpu_given |= NW_SCENARIO_GIVES_CR4;
		} else if (!strcmp(it.key, "efer")) {
			if (get_u64(ld, it.value, it.key_pos, "efer", &cpu->efer))
				return -1;
			ld->sc->cpu_given |= NW_SCENARIO_GIVES_EFER;
		} else if (!strcmp(it.key, "rflags")) {
			if (get_u64(ld, it.value, it.key_pos, "rflags", &cpu->rflags))
				return -1;
		} else if (!strcmp(it.key, "pkru")) {
			if (get_u64_max(ld, it.value, it.key_pos, "pkru", UINT32_MAX, &value))
				return -1;
			cpu->pkru = (uint32_t)value;
		} else if (!strcmp(it.key, "pkrs")) {
			if (get_u64_max(ld, it.value, it.key_pos, "pkrs", UINT32_MAX, &value))
				return -1;
			cpu->pkrs = (uint32_t)value;
		} else if (!strcmp(it.key, "maxphyaddr")) {
			if (get_u64(ld, it.value, it.key_pos, "maxphyaddr", &value))
				return -1;
			if (value < NW_MAXPHYADDR_MIN || value > NW_MAXPHYADDR_MAX)
				return fail(ld, node_pos(it.value, it.key_pos), "maxphyaddr: must be 36 to 52");
			cpu->maxphyaddr = (unsigned)value;
			ld->sc->maxphyaddr_pos = node_pos(it.value, it.key_pos);
		} else if (!strcmp(it.key, "features")) {
			if (load_features(ld, it.value, it.key_pos))
				return -1;
		} else {
			return unknown_key(ld, &it, "cpu");
		}
	}
	return got;
}

static int load_write(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	struct pair_iter it = { .map = node };
	struct nw_scenario_write *write;
	bool has_gpa = false, has_values = false;
	int got;

	if (expect_mapping(ld, node, at, "writes entry"))
		return -1;
	ld->sc->writes = nw_grow(ld->sc->writes, &ld->sc->write_cap, ld->sc->write_count, sizeof(*write));
	write = &ld->sc->writes[ld->sc->write_count++];
	write->pos = node_pos(node, at);
	while ((got = next_pair(ld, &it, "writes entry")) > 0) {
		if (!strcmp(it.key, "gpa")) {
			if (get_u64(ld, it.value, it.key_pos, "gpa", &write->gpa))
				return -1;
			has_gpa = true;
		} else if (!strcmp(it.key, "values")) {
			void *iter = NULL;
			struct fy_node *item;

			if (expect_sequence(ld, it.value, it.key_pos, "values"))
				return -1;
			while ((item = fy_node_sequence_iterate(it.value, &iter))) {
				write->values = nw_grow(write->values, &write->cap, write->count, sizeof(uint64_t));
				if (get_u64(ld, item, it.key_pos, "values", &write->values[write->count++]))
					return -1;
			}
			has_values = true;
		} else {
			return unknown_key(ld, &it, "a guest write");
		}
	}
	if (got < 0)
		return -1;
	if (!has_gpa || !has_values)
		return fail(ld, write->pos, "a guest write needs gpa and values");
	return 0;
}

/* A file name: kept as written, with its position for messages. */
static int get_path(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at, const char *what,
		    char **out, struct nw_scenario_pos *pos)
{
	char buf[4096];

	if (scalar_text(ld, node, at, what, buf, sizeof(buf)))
		return -1;
	if (!buf[0])
		return fail(ld, node_pos(node, at), "%s: empty file name", what);
	free(*out);
	*out = strdup(buf);
	*pos = node_pos(node, at);
	return 0;
}

static int load_level_overrides(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at,
				struct nw_scenario_mapping *mapping)
{
	void *iter = NULL;
	struct fy_node *item;

	if (expect_sequence(ld, node, at, "levels"))
		return -1;
	while ((item = fy_node_sequence_iterate(node, &iter))) {
		struct pair_iter it = { .map = item };
		uint64_t level = 0, set = 0, clear = 0;
		struct nw_scenario_pos pos = node_pos(item, at);
		int got;

		if (expect_mapping(ld, item, at, "levels entry"))
			return -1;
		while ((got = next_pair(ld, &it, "levels entry")) > 0) {
			if (!strcmp(it.key, "level")) {
				if (get_u64_max(ld, it.value, it.key_pos, "level", NW_MAX_LEVELS, &level))
					return -1;
			} else if (!strcmp(it.key, "set")) {
				if (get_u64(ld, it.value, it.key_pos, "set", &set))
					return -1;
			} else if (!strcmp(it.key, "clear")) {
				if (get_u64(ld, it.value, it.key_pos, "clear", &clear))
					return -1;
			} else {
				return unknown_key(ld, &it, "a level override");
			}
		}
		if (got < 0)
			return -1;
		if (level < 1)
			return fail(ld, pos, "a level override needs level (1 to 5)");
		mapping->level_set[level] |= set;
		mapping->level_clear[level] |= clear;
	}
	return 0;
}

static int load_mapping(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	struct pair_iter it = { .map = node };
	struct nw_scenario_mapping *mapping;
	bool has_gva = false, has_gpa = false;
	int got;

	if (expect_mapping(ld, node, at, "mappings entry"))
		return -1;
	ld->sc->mappings = nw_grow(ld->sc->mappings, &ld->sc->mapping_cap, ld->sc->mapping_count, sizeof(*mapping));
	mapping = &ld->sc->mappings[ld->sc->mapping_count++];
	mapping->pos = node_pos(node, at);
	mapping->size = NW_PAGE_SIZE;
	mapping->flags = 0x7; /* present, writable, user */
	while ((got = next_pair(ld, &it, "mappings entry")) > 0) {
		if (!strcmp(it.key, "gva")) {
			if (get_u64(ld, it.value, it.key_pos, "gva", &mapping->gva))
				return -1;
			has_gva = true;
		} else if (!strcmp(it.key, "gpa")) {
			if (get_u64(ld, it.value, it.key_pos, "gpa", &mapping->gpa))
				return -1;
			has_gpa = true;
		} else if (!strcmp(it.key, "size")) {
			if (get_u64(ld, it.value, it.key_pos, "size", &mapping->size))
				return -1;
			if (mapping->size != NW_PAGE_SIZE && mapping->size != NW_SIZE_2M &&
			    mapping->size != NW_SIZE_4M && mapping->size != NW_SIZE_1G)
				return fail(ld, node_pos(it.value, it.key_pos), "size: must be 4K, 2M, 4M or 1G");
		} else if (!strcmp(it.key, "flags")) {
			if (get_u64(ld, it.value, it.key_pos, "flags", &mapping->flags))
				return -1;
		} else if (!strcmp(it.key, "levels")) {
			if (load_level_overrides(ld, it.value, it.key_pos, mapping))
				return -1;
		} else {
			return unknown_key(ld, &it, "a guest mapping");
		}
	}
	if (got < 0)
		return -1;
	if (!has_gva || !has_gpa)
		return fail(ld, mapping->pos, "a guest mapping needs gva and gpa");
	return 0;
}

static int load_pt_region(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	struct pair_iter it = { .map = node };
	bool has_gpa = false;
	int got;

	if (expect_mapping(ld, node, at, "page_table_region"))
		return -1;
	ld->sc->pt_region_pos = node_pos(node, at);
	while ((got = next_pair(ld, &it, "page_table_region")) > 0) {
		if (!strcmp(it.key, "gpa")) {
			if (get_u64(ld, it.value, it.key_pos, "gpa", &ld->sc->pt_region_gpa))
				return -1;
			has_gpa = true;
		} else if (!strcmp(it.key, "size")) {
			if (get_u64(ld, it.value, it.key_pos, "size", &ld->sc->pt_region_size))
				return -1;
		} else {
			return unknown_key(ld, &it, "page_table_region");
		}
	}
	if (got < 0)
		return -1;
	if (!has_gpa || !ld->sc->pt_region_size)
		return fail(ld, ld->sc->pt_region_pos, "page_table_region needs gpa and a non-zero size");
	return 0;
}

static int load_list(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at, const char *what,
		     int (*load_item)(struct loader *, struct fy_node *, struct nw_scenario_pos))
{
	void *iter = NULL;
	struct fy_node *item;

	if (expect_sequence(ld, node, at, what))
		return -1;
	while ((item = fy_node_sequence_iterate(node, &iter)))
		if (load_item(ld, item, at))
			return -1;
	return 0;
}

static int load_guest(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	struct pair_iter it = { .map = node };
	int got;

	if (expect_mapping(ld, node, at, "guest"))
		return -1;
	while ((got = next_pair(ld, &it, "guest")) > 0) {
		if (!strcmp(it.key, "writes")) {
			if (load_list(ld, it.value, it.key_pos, "writes", load_write))
				return -1;
		} else if (!strcmp(it.key, "mappings")) {
			if (load_list(ld, it.value, it.key_pos, "mappings", load_mapping))
				return -1;
		} else if (!strcmp(it.key, "page_table_region")) {
			if (load_pt_region(ld, it.value, it.key_pos))
				return -1;
		} else if (!strcmp(it.key, "elf_image")) {
			if (get_path(ld, it.value, it.key_pos, "elf_image", &ld->sc->elf_image, &ld->sc->elf_image_pos))
				return -1;
		} else if (!strcmp(it.key, "memory_dump")) {
			if (get_path(ld, it.value, it.key_pos, "memory_dump", &ld->sc->memory_dump,
				     &ld->sc->memory_dump_pos))
				return -1;
		} else {
			return unknown_key(ld, &it, "guest");
		}
	}
	return got;
}

/* One pmp entry's keys as given: cfg and addr as written, or mode with r, w, x, lock and the region (base and
 * size for napot and na4, top for tor, or addr as written). */
struct pmp_item {
	uint64_t cfg, addr, base, size, top;
	bool has_cfg, has_addr, has_base, has_size, has_top, has_friendly, r, w, x, lock;
	int mode;
	struct nw_scenario_pos pos;
};

static const char *const pmp_modes[] = { "off", "tor", "na4", "napot" };

static int load_pmp_key(struct loader *ld, struct pmp_item *p, const struct pair_iter *it)
{
	static const char *const flags[] = { "r", "w", "x", "lock" };
	bool *flag_of[] = { &p->r, &p->w, &p->x, &p->lock };

	for (unsigned i = 0; i < 4; i++)
		if (!strcmp(it->key, flags[i]))
			return (p->has_friendly = true, get_bool(ld, it->value, it->key_pos, flags[i], flag_of[i]));
	if (!strcmp(it->key, "mode"))
		return (p->has_friendly = true,
			(p->mode = get_choice(ld, it->value, it->key_pos, "mode (off, tor, na4, napot)", pmp_modes, 4)) <
				0 ? -1 : 0);
	if (!strcmp(it->key, "cfg"))
		return (p->has_cfg = true, get_u64_max(ld, it->value, it->key_pos, "cfg", 0xff, &p->cfg));
	if (!strcmp(it->key, "addr"))
		return (p->has_addr = true,
			get_u64_max(ld, it->value, it->key_pos, "addr (pmpaddr: address bits 55:2)", NW_RV_PMPADDR_MASK,
				    &p->addr));
	if (!strcmp(it->key, "base"))
		return (p->has_base = true, get_u64(ld, it->value, it->key_pos, "base", &p->base));
	if (!strcmp(it->key, "size"))
		return (p->has_size = true, get_u64(ld, it->value, it->key_pos, "size", &p->size));
	if (!strcmp(it->key, "top"))
		return (p->has_top = true, get_u64(ld, it->value, it->key_pos, "top", &p->top));
	return unknown_key(ld, it, "a pmp entry (cfg, addr; or mode, r, w, x, lock, base, size, top)");
}

/* pmpaddr of the friendly region: NAPOT base >> 2 with size/8 - 1 ones below, NA4 base >> 2, TOR top >> 2. */
static int pmp_friendly_addr(struct loader *ld, struct pmp_item *p)
{
	unsigned mode = (unsigned)p->mode;
	bool region = mode == NW_RV_PMP_NAPOT || mode == NW_RV_PMP_NA4;

	if (p->has_addr + (p->has_base || p->has_size) + p->has_top > 1 || (p->has_top && mode != NW_RV_PMP_TOR) ||
	    ((p->has_base || p->has_size) && !region))
		return fail(ld, p->pos, "a pmp entry names its region once: base and size for napot or na4, top for "
					"tor, or addr (pmpaddr as written)");
	if (p->has_addr || mode == NW_RV_PMP_OFF)
		return 0;
	if (mode == NW_RV_PMP_TOR) {
		if (!p->has_top || (p->top & 3) || p->top >> 56)
			return fail(ld, p->pos, "a tor pmp entry needs top: the byte address its region ends below, a "
						"multiple of 4 under 2^56");
		p->addr = p->top >> 2;
		return 0;
	}
	if (!p->has_base || !p->has_size || p->size < 4 || (p->size & (p->size - 1)) || (p->base & (p->size - 1)) ||
	    (mode == NW_RV_PMP_NA4) != (p->size == 4) || p->base >> 56 || p->size > (UINT64_C(1) << 56) - p->base)
		return fail(ld, p->pos, "a %s pmp entry needs base and size: %s, base aligned to it, inside the 56-bit "
					"physical space", pmp_modes[mode],
			    mode == NW_RV_PMP_NA4 ? "size 4" : "a power of two of 8 bytes or more");
	p->addr = p->base >> 2 | (mode == NW_RV_PMP_NAPOT ? p->size / 8 - 1 : 0);
	return 0;
}

static int load_pmp_entry(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	struct nw_rv_pmp *pmp = &ld->sc->riscv.pmp;
	struct pair_iter it = { .map = node };
	struct pmp_item p = { .mode = -1 };
	int got;

	if (expect_mapping(ld, node, at, "pmp entry"))
		return -1;
	p.pos = node_pos(node, at);
	if (pmp->count == NW_RV_PMP_ENTRIES)
		return fail(ld, p.pos, "pmp: a hart has at most %d PMP entries", NW_RV_PMP_ENTRIES);
	while ((got = next_pair(ld, &it, "pmp entry")) > 0)
		if (load_pmp_key(ld, &p, &it))
			return -1;
	if (got < 0)
		return -1;
	if (p.has_cfg == p.has_friendly)
		return fail(ld, p.pos, "a pmp entry gives cfg (pmpcfg as written) with addr, or mode with r, w, x and "
				       "lock: one of the two");
	if (p.has_cfg && !p.has_addr)
		return fail(ld, p.pos, "a pmp entry with cfg needs addr (pmpaddr as written)");
	if (p.has_friendly && (p.mode < 0 || pmp_friendly_addr(ld, &p)))
		return p.mode < 0 ? fail(ld, p.pos, "a pmp entry needs mode (off, tor, na4, napot)") : -1;
	if (p.has_friendly)
		p.cfg = (p.r ? NW_RV_PMPCFG_R : 0) | (p.w ? NW_RV_PMPCFG_W : 0) | (p.x ? NW_RV_PMPCFG_X : 0) |
			(uint64_t)p.mode << NW_RV_PMPCFG_A_SHIFT | (p.lock ? NW_RV_PMPCFG_L : 0);
	if (p.cfg & NW_RV_PMPCFG_ZERO)
		return fail(ld, p.pos, "pmp: cfg %#llx: bits 6:5 are WARL zero", (unsigned long long)p.cfg);
	ld->sc->riscv.pmp_entry_pos[pmp->count] = p.pos; /* R=0 with W=1 is checked once mseccfg is known */
	pmp->cfg[pmp->count] = (uint8_t)p.cfg;
	pmp->addr[pmp->count++] = p.addr;
	return 0;
}

static int load_pmp(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	ld->sc->riscv.pmp_pos = at;
	if (load_list(ld, node, at, "pmp", load_pmp_entry))
		return -1;
	if (!ld->sc->riscv.pmp.count)
		return fail(ld, at, "pmp: an empty list would be a hart whose PMP refuses every S/U access; leave the "
				    "key out for a hart without PMP");
	return 0;
}

static int load_arch(struct loader *ld, struct fy_node *node, struct nw_scenario_pos at)
{
	int choice = get_choice(ld, node, at, "arch (x86_64, aarch64 or riscv64)", arches, 3);

	if (choice < 0)
		return -1;
	ld->sc->arch = choice;
	ld->sc->arch_pos = node_pos(node, at);
	return 0;
}

static int load_root(struct loader *ld, struct fy_node *root)
{
	struct pair_iter it = { .map = root };
	int got;

	if (!root)
		return fail(ld, (struct nw_scenario_pos){ 1, 1 }, "empty scenario");
	if (expect_mapping(ld, root, (struct nw_scenario_pos){ 1, 1 }, "scenario"))
		return -1;
	while ((got = next_pair(ld, &it, "scenario")) > 0) {
		int rc;

		if (!strcmp(it.key, "memory_regions"))
			rc = load_regions(ld, it.value, it.key_pos);
		else if (!strcmp(it.key, "stage2") || !strcmp(it.key, "ept"))
			rc = load_stage2(ld, !strcmp(it.key, "ept") ? "ept" : "stage2", it.value, it.key_pos);
		else if (!strcmp(it.key, "host"))
			rc = load_host(ld, it.value, it.key_pos);
		else if (!strcmp(it.key, "cpu"))
			rc = load_cpu(ld, it.value, it.key_pos);
		else if (!strcmp(it.key, "guest"))
			rc = load_guest(ld, it.value, it.key_pos);
		else if (!strcmp(it.key, "trace"))
			rc = get_path(ld, it.value, it.key_pos, "trace", &ld->sc->trace, &ld->sc->trace_pos);
		else if (!strcmp(it.key, "arch"))
			rc = load_arch(ld, it.value, it.key_pos);
		else if (!strcmp(it.key, "pmp"))
			rc = load_pmp(ld, it.value, it.key_pos);
		else if (!strcmp(it.key, "mseccfg"))
			rc = (ld->sc->riscv.mseccfg_pos = it.key_pos,
			      get_u64_max(ld, it.value, it.key_pos, "mseccfg (MML bit 0, MMWP bit 1, RLB bit 2)", 7,
					  &ld->sc->riscv.mseccfg));
		else if (!strcmp(it.key, "vms"))
			rc = load_vms(ld, it.value, it.key_pos);
		else if (!strcmp(it.key, "description"))
			rc = 0; /* free text for the reader */
		else
			rc = unknown_key(ld, &it, "the scenario");
		if (rc)
			return -1;
	}
	return got;
}

/* The first error libfyaml collected, as file:line:col (its diagnostics
 * count from 1 already, unlike its marks). */
static int parse_error(struct loader *ld, struct fy_diag *diag)
{
	void *iter = NULL;
	struct fy_diag_error *error;

	while ((error = fy_diag_errors_iterate(diag, &iter)))
		if (error->type >= FYET_ERROR)
			return fail(ld, (struct nw_scenario_pos){ error->line, error->column }, "YAML: %s",
				    error->msg);
	return fail(ld, (struct nw_scenario_pos){ 1, 1 }, "no YAML document in the file");
}

/* Length of the UTF-8 sequence led by byte, 0 when it cannot lead one. */
static int utf8_length(int byte)
{
	if (byte < 0x80)
		return 1;
	if (byte >= 0xc2 && byte <= 0xdf)
		return 2;
	if (byte >= 0xe0 && byte <= 0xef)
		return 3;
	if (byte >= 0xf0 && byte <= 0xf4)
		return 4;
	return 0;
}

/* Scenario files are UTF-8 (YAML 1.2 §5.2). Checked before libfyaml sees the
 * text: its scanner loops forever on some invalid bytes (e.g. inside a %
 * directive), and bad input must give a located error, never a hang. */
static int check_utf8(struct loader *ld, const unsigned char *text, size_t size)
{
	struct nw_scenario_pos pos = { 1, 1 };
	size_t at = 0;

	while (at < size) {
		int byte = text[at++], length = utf8_length(byte);
		uint32_t code = (uint32_t)byte & (0x7fu >> length);

		for (int i = 1; i < length; i++) {
			if (at == size || (text[at] & 0xc0) != 0x80) {
				length = 0;
				break;
			}
			code = code << 6 | ((uint32_t)text[at++] & 0x3f);
		}
		/* overlong forms, UTF-16 surrogates and code points past U+10FFFF */
		if (length == 0 || (length == 3 && (code < 0x800 || (code >= 0xd800 && code <= 0xdfff))) ||
		    (length == 4 && (code < 0x10000 || code > 0x10ffff)))
			return fail(ld, pos, "not UTF-8 text (byte 0x%02x)", byte);
		if (byte == '\n') {
			pos.line++;
			pos.column = 1;
		} else {
			pos.column++;
		}
	}
	return 0;
}

/* Host-physical addresses stop at 2^MAXPHYADDR (SDM Vol. 3A §4.1.4): a
 * simulated host larger than that would hand out frames, the tool's own EPT
 * and NPT tables among them, that no entry can point to. */
static int check_host_below_maxphyaddr(struct loader *ld)
{
	uint64_t limit = UINT64_C(1) << ld->sc->cpu.maxphyaddr;

	if (ld->sc->host_memory <= limit)
		return 0;
	return fail(ld, ld->sc->host_memory_pos,
		    "memory: 0x%llx bytes reach above 2^MAXPHYADDR (0x%llx, cpu.maxphyaddr %u): host-physical "
		    "addresses stop there", (unsigned long long)ld->sc->host_memory, (unsigned long long)limit,
		    ld->sc->cpu.maxphyaddr);
}

/* The CPU model in force: cpu.features, or every feature; cpu.maxphyaddr is the same as features' maxphyaddr, so a
 * scenario gives it in one place. */
static int apply_features(struct loader *ld)
{
	struct nw_scenario *sc = ld->sc;
	unsigned given = sc->cpu.maxphyaddr;

	if (!sc->has_features)
		sc->features = nw_cpu_features_all();
	if (given && sc->has_features && (sc->features.maxphyaddr != given))
		return fail(ld, sc->maxphyaddr_pos, "maxphyaddr: cpu.maxphyaddr %u and cpu.features (%s, MAXPHYADDR %u) "
			    "disagree: give it in one place", given, sc->features.preset, sc->features.maxphyaddr);
	if (given)
		sc->features.maxphyaddr = given;
	nw_cpu_features_apply(&sc->features, &sc->stage2, &sc->cpu);
	return 0;
}

_Static_assert(NW_SCENARIO_MAX_BYTES < INT_MAX, "a scenario's line and column numbers fit nw_scenario_pos");

/* The size bytes of text, named path in messages and for the files the scenario names. */
static int load(const char *path, const char *text, size_t size, struct nw_scenario *sc, char *err, size_t errlen)
{
	struct loader ld = { .file = path, .err = err, .errlen = errlen, .sc = sc };
	struct fy_diag_cfg diag_cfg;
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG };
	struct fy_document *doc;
	struct fy_diag *diag;
	int rc;

	*sc = (struct nw_scenario){ .stage2 = { .format = NW_STAGE2_EPT, .levels = 4,
						.memory_type = NW_ASPACE_MEMTYPE_WB } };
	sc->file = strdup(path);
	/* Lines and columns then fit an int (here and in libfyaml). */
	if (size > NW_SCENARIO_MAX_BYTES)
		return fail(&ld, (struct nw_scenario_pos){ 1, 1 }, "larger than %d bytes", NW_SCENARIO_MAX_BYTES);
	rc = check_utf8(&ld, (const unsigned char *)text, size);
	if (rc)
		return rc;
	fy_diag_cfg_default(&diag_cfg);
	diag_cfg.fp = NULL;
	diag = fy_diag_create(&diag_cfg);
	if (!diag)
		return fail(&ld, (struct nw_scenario_pos){ 1, 1 }, "cannot start the YAML parser");
	fy_diag_set_collect_errors(diag, true);
	cfg.diag = diag;
	doc = fy_document_build_from_string(&cfg, text, size);
	if (!doc || fy_diag_got_error(diag)) {
		rc = parse_error(&ld, diag);
	} else {
		rc = load_root(&ld, fy_document_root(doc));
		if (!rc)
			rc = nw_scenario_check_arch(sc, err, errlen);
		if (!rc)
			rc = nw_scenario_check_vms(sc, err, errlen);
		if (!rc)
			rc = apply_features(&ld);
		if (!rc)
			rc = check_host_below_maxphyaddr(&ld);
		if (!rc)
			rc = nw_scenario_check_features(sc, err, errlen);
	}
	fy_document_destroy(doc);
	/* Destroy, not unref: only destroy frees the collected errors. */
	fy_diag_destroy(diag);
	return rc;
}

int nw_scenario_load(const char *path, struct nw_scenario *sc, char *err, size_t errlen)
{
	char *text;
	size_t size;
	int rc;

	/* Read whole first: a FIFO or a device is refused, never waited on or read without end. */
	if (nw_file_read(path, NW_SCENARIO_MAX_BYTES, &text, &size, err, errlen)) {
		*sc = (struct nw_scenario){ .file = strdup(path) };
		return -1;
	}
	rc = load(path, text, size, sc, err, errlen);
	free(text);
	return rc;
}

int nw_scenario_load_text(const char *name, const char *text, size_t size, struct nw_scenario *sc, char *err,
			  size_t errlen)
{
	return load(name, text, size, sc, err, errlen);
}

void nw_scenario_free(struct nw_scenario *sc)
{
	for (size_t i = 0; i < sc->write_count; i++)
		free(sc->writes[i].values);
	free(sc->writes);
	free(sc->mappings);
	free(sc->regions);
	for (size_t i = 0; i < sc->vm_count; i++)
		free(sc->vms[i].regions);
	free(sc->vms);
	free(sc->edits);
	free(sc->trace);
	free(sc->elf_image);
	free(sc->memory_dump);
	free(sc->file);
	*sc = (struct nw_scenario){ 0 };
}
