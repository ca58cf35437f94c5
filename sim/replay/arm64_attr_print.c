/* AArch64 memory attributes in text and JSON (arm64_attr_print.h): the Arm ARM's names (B2.7.2 Device memory
 * types, B2.7.3 Normal memory cacheability, allocation hints and transience, B2.7.4 shareability). */
#include "replay/arm64_attr_print.h"

static const char *type_name(unsigned type)
{
	static const char *const names[] = {
		[NW_ARM64_MEM_NONE] = "none",
		[NW_ARM64_MEM_DEVICE_NGNRNE] = "Device-nGnRnE",
		[NW_ARM64_MEM_DEVICE_NGNRE] = "Device-nGnRE",
		[NW_ARM64_MEM_DEVICE_NGRE] = "Device-nGRE",
		[NW_ARM64_MEM_DEVICE_GRE] = "Device-GRE",
		[NW_ARM64_MEM_NORMAL] = "Normal",
		[NW_ARM64_MEM_UNPREDICTABLE] = "UNPREDICTABLE",
	};

	return names[type];
}

static const char *const cache_json[] = { [NW_ARM64_CACHE_NC] = "NC", [NW_ARM64_CACHE_WT] = "WT",
					  [NW_ARM64_CACHE_WB] = "WB" };
static const char *const cache_text[] = { [NW_ARM64_CACHE_NC] = "Non-cacheable",
					  [NW_ARM64_CACHE_WT] = "Write-Through",
					  [NW_ARM64_CACHE_WB] = "Write-Back" };
/* SH[1:0] (0b01 reserved: a reserved SH never reaches here, the attributes are UNPREDICTABLE then). */
static const char *const sh_json[] = { [NW_ARM64_SH_NON] = "non", [NW_ARM64_SH_OUTER] = "outer",
				       [NW_ARM64_SH_INNER] = "inner" };
static const char *const sh_text[] = { [NW_ARM64_SH_NON] = "Non-shareable", [NW_ARM64_SH_OUTER] = "Outer Shareable",
				       [NW_ARM64_SH_INNER] = "Inner Shareable" };

static bool is_normal(const struct nw_arm64_memattr *attr)
{
	return attr->type == NW_ARM64_MEM_NORMAL;
}

static bool has_shareability(const struct nw_arm64_memattr *attr)
{
	return attr->type != NW_ARM64_MEM_NONE && attr->type != NW_ARM64_MEM_UNPREDICTABLE;
}

static void print_level_text(FILE *out, const char *name, const struct nw_arm64_cache_attr *level, bool hints)
{
	fprintf(out, ", %s %s", name, cache_text[level->cacheability]);
	if (level->cacheability == NW_ARM64_CACHE_NC || !hints)
		return;
	fprintf(out, " (%s, %s, %s)", (level->alloc & NW_ARM64_ALLOC_R) ? "read-allocate" : "no read-allocate",
		(level->alloc & NW_ARM64_ALLOC_W) ? "write-allocate" : "no write-allocate",
		level->transient ? "transient" : "non-transient");
}

void nw_arm64_attr_print_text(FILE *out, const struct nw_arm64_memattr *attr, bool hints)
{
	fputs(type_name(attr->type), out);
	if (attr->type == NW_ARM64_MEM_UNPREDICTABLE)
		fputs(" (a reserved or unmodelled encoding: the Arm ARM gives no attributes)", out);
	if (is_normal(attr)) {
		print_level_text(out, "inner", &attr->inner, hints);
		print_level_text(out, "outer", &attr->outer, hints);
	}
	if (has_shareability(attr))
		fprintf(out, ", %s", sh_text[attr->shareability]);
}

static void print_level_json(FILE *out, const char *name, const struct nw_arm64_cache_attr *level, bool hints)
{
	fprintf(out, ", \"%s\": \"%s\"", name, cache_json[level->cacheability]);
	if (level->cacheability == NW_ARM64_CACHE_NC || !hints)
		return;
	fprintf(out, ", \"%s_allocate\": \"%c%c\", \"%s_transient\": %s", name,
		(level->alloc & NW_ARM64_ALLOC_R) ? 'r' : '-', (level->alloc & NW_ARM64_ALLOC_W) ? 'w' : '-', name,
		level->transient ? "true" : "false");
}

void nw_arm64_attr_print_json(FILE *out, const struct nw_arm64_memattr *attr, bool hints)
{
	fprintf(out, "{\"type\": \"%s\"", type_name(attr->type));
	if (is_normal(attr)) {
		print_level_json(out, "inner", &attr->inner, hints);
		print_level_json(out, "outer", &attr->outer, hints);
	}
	if (has_shareability(attr))
		fprintf(out, ", \"shareability\": \"%s\"", sh_json[attr->shareability]);
	fputc('}', out);
}

const char *nw_arm64_memattr_fwb_name(unsigned memattr)
{
	static const char *const names[8] = {
		"Device-nGnRnE", "Device-nGnRE", "Device-nGRE", "Device-GRE",
		"Normal-NC", "Normal-NC", "Normal-WB", "stage-1",
	};

	return names[memattr & 7];
}
