/* The scenario loader (YAML through libfyaml) on arbitrary bytes: it must
 * either load the file or reject it with a "file:line:col: what" message, never
 * crash, read out of bounds or leak. A loaded scenario of modest size is also
 * built into a VM on simulated memory and torn down, with no frame left live. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "scenario/scenario.h"

/* Building allocates (and tearing down frees, one madvise each) every MAP_ALLOC page: keep builds to what
 * runs in a blink. */
#define BUILD_LIMIT (UINT64_C(1) << 20)
#define HOST_LIMIT (UINT64_C(64) << 30)

/* libfyaml 0.7.12 (Debian 12) loops forever on a YAML directive line ('%')
 * holding a byte that is not UTF-8 (tests/fuzz/test_scenario_directive.c
 * keeps the case); such inputs are skipped so the campaign goes on. */
static bool has_known_hang(const uint8_t *data, size_t size)
{
	bool directive = false, line_start = true;

	for (size_t i = 0; i < size; i++) {
		if (line_start)
			directive = data[i] == '%';
		if (directive && data[i] >= 0x80)
			return true;
		line_start = data[i] == '\n';
	}
	return false;
}

/* libfyaml 0.7.12 leaks the text it builds for some single-quoted scalars
 * with escaped quotes when asked for it (fy_node_get_scalar, as every
 * loader must; tests/fuzz/known/scenario-fyaml-*-leak.yaml, reproduced with
 * libfyaml alone). Its frames carry no frame pointers, so LeakSanitizer
 * cannot tell that allocation from a document the loader fails to destroy:
 * leaks allocated inside libfyaml are not reported here. The loader's own
 * allocations still are, and the unit tests under ASan check its documents
 * are destroyed without this suppression. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libfyaml.so\n";
}

/* The name the input is loaded under: files it names are looked for in a folder that does not exist, so
 * a build reaches the loaders' "cannot open" paths and never reads this machine's files. */
#define INPUT_NAME "/nonexistent-fuzz-input/scenario.yaml"

static bool is_small(const struct nw_scenario *sc)
{
	uint64_t total = 0;

	if (sc->host_memory > HOST_LIMIT || (sc->elf_image && sc->elf_image[0] == '/'))
		return false;
	for (size_t i = 0; i < sc->region_count; i++) {
		if (sc->regions[i].region.size > BUILD_LIMIT)
			return false;
		total += sc->regions[i].region.size;
	}
	return total <= BUILD_LIMIT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nw_scenario sc;
	struct nw_vm vm;
	char err[512] = "";

	if (has_known_hang(data, size))
		return 0;
	memset(&sc, 0, sizeof(sc));
	if (nw_scenario_load_text(INPUT_NAME, (const char *)data, size, &sc, err, sizeof(err)) != 0) {
		if (!err[0] || !strstr(err, INPUT_NAME)) {
			fprintf(stderr, "fuzz_scenario: rejected without a located message: '%s'\n", err);
			abort();
		}
		nw_scenario_free(&sc); /* a refused file may hold what was loaded before the error */
		return 0;
	}
	if (is_small(&sc) && nw_vm_build(&sc, &vm, err, sizeof(err)) == 0) {
		uint64_t leaked = nw_vm_destroy(&sc, &vm);

		if (leaked) {
			fprintf(stderr, "fuzz_scenario: %llu frame(s) leaked by a built VM\n", (unsigned long long)leaked);
			abort();
		}
	}
	nw_scenario_free(&sc);
	return 0;
}
