/* The recorder's arguments (args.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

/* A number: decimal or 0x-hexadecimal, with a K, M or G suffix (powers of 1024) when sized. */
static int parse_number(const char *text, bool sized, uint64_t *out)
{
	unsigned long long value;
	unsigned shift = 0;
	char *end;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	value = strtoull(text, &end, 0);
	if (errno || end == text)
		return -1;
	if (sized && *end) {
		static const char units[] = "KMG";
		const char *unit = strchr(units, *end);

		if (!unit)
			return -1;
		shift = 10 * (unsigned)(unit - units + 1);
		end++;
		if (value > (~0ull >> shift))
			return -1;
	}
	if (*end)
		return -1;
	*out = (uint64_t)value << shift;
	return 0;
}

static int parse_choice(const char *value, const char *const *names, unsigned count, unsigned *out)
{
	for (unsigned i = 0; i < count; i++) {
		if (!strcmp(value, names[i])) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

/* A path argument: argv's string, which QEMU keeps; true (bad) when empty. */
static bool take_path(const char *value, const char **slot)
{
	*slot = value;
	return !*value;
}

/* Reads one KEY=VALUE into args (ram and below4g aside, checked once all are read); 0 or -1 with err. */
static int parse_one(const char *arg, struct nw_recorder_args *args, uint64_t *ram, uint64_t *below4g, char *err,
		     size_t errlen)
{
	static const char *const formats[] = { "binary", "text" };
	static const char *const compressions[] = { "none", "zstd" };
	static const char *const fetches[] = { "block", "insn" };
	static const char *const switches[] = { "off", "on" };
	static const char *const triggers[] = { "user" };
	const char *eq = strchr(arg, '=');
	const char *value = eq ? eq + 1 : "";
	size_t klen = eq ? (size_t)(eq - arg) : strlen(arg);
	unsigned choice = 0;
	int bad = 0;

#define KEY(name) (klen == strlen(name) && !strncmp(arg, name, klen))
	if (!eq) {
		snprintf(err, errlen, "argument '%s' is not KEY=VALUE", arg);
		return -1;
	}
	if (KEY("out")) {
		bad = take_path(value, &args->out);
	} else if (KEY("regs")) {
		bad = take_path(value, &args->regs);
	} else if (KEY("snapshot")) {
		bad = take_path(value, &args->snapshot);
	} else if (KEY("scenario")) {
		bad = take_path(value, &args->scenario);
	} else if (KEY("writers")) {
		bad = take_path(value, &args->writers);
	} else if (KEY("format")) {
		bad = parse_choice(value, formats, 2, &choice);
		args->text = choice == 1;
	} else if (KEY("compress")) {
		bad = parse_choice(value, compressions, 2, &choice);
		args->zstd = choice == 1;
	} else if (KEY("fetch")) {
		bad = parse_choice(value, fetches, 2, &choice);
		args->fetch = (enum nw_recorder_fetch)choice;
	} else if (KEY("store_bytes")) {
		bad = parse_choice(value, switches, 2, &choice);
		args->store_bytes = choice == 1;
	} else if (KEY("trigger")) {
		bad = parse_choice(value, triggers, 1, &choice);
		args->trigger_user = true;
	} else if (KEY("ram")) {
		bad = parse_number(value, true, ram) || *ram == 0;
	} else if (KEY("below4g")) {
		bad = parse_number(value, true, below4g) || *below4g > NW_RECORDER_4G;
	} else if (KEY("trigger_gva")) {
		bad = parse_number(value, false, &args->trigger_gva);
		args->has_trigger_gva = true;
	} else if (KEY("trigger_count")) {
		bad = parse_number(value, false, &args->trigger_count);
	} else if (KEY("limit")) {
		bad = parse_number(value, false, &args->limit) || args->limit == 0;
	} else {
		snprintf(err, errlen, "unknown argument '%.*s' (out, format, compress, fetch, store_bytes, regs, "
			 "writers, snapshot, scenario, ram, below4g, trigger, trigger_gva, trigger_count, limit)", (int)klen, arg);
		return -1;
	}
#undef KEY
	if (bad) {
		snprintf(err, errlen, "argument '%s': bad value", arg);
		return -1;
	}
	return 0;
}

int nw_recorder_args_parse(int argc, char **argv, struct nw_recorder_args *args, char *err, size_t errlen)
{
	uint64_t ram = 0, below4g = ~0ull;

	*args = (struct nw_recorder_args){ .zstd = true };
	for (int i = 0; i < argc; i++) {
		for (int j = 0; j < i; j++) {
			size_t klen = strcspn(argv[i], "=");

			if (!strncmp(argv[i], argv[j], klen) && argv[j][klen] == '=') {
				snprintf(err, errlen, "argument '%.*s' given twice", (int)klen, argv[i]);
				return -1;
			}
		}
		if (parse_one(argv[i], args, &ram, &below4g, err, errlen))
			return -1;
	}
	if (!args->out) {
		snprintf(err, errlen, "out=PATH is required: where the trace goes");
		return -1;
	}
	if (!ram) {
		snprintf(err, errlen, "ram=SIZE is required (the -m size): guest-physical addresses of RAM above "
			 "4 GiB and of other memory are told apart by it");
		return -1;
	}
	if (args->scenario && !(args->snapshot && args->regs)) {
		snprintf(err, errlen, "scenario=PATH needs snapshot=PATH and regs=LOG: its memory and registers");
		return -1;
	}
	if (args->has_trigger_gva + !!args->trigger_count + args->trigger_user > 1) {
		snprintf(err, errlen, "trigger, trigger_gva and trigger_count exclude each other");
		return -1;
	}
	args->layout = nw_recorder_layout_pc(ram);
	if (below4g != ~0ull) {
		if (below4g > ram) {
			snprintf(err, errlen, "below4g=0x%llx is more than ram=0x%llx", (unsigned long long)below4g,
				 (unsigned long long)ram);
			return -1;
		}
		args->layout.below4g = below4g;
	}
	return 0;
}
