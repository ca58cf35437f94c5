/* The text record encoding: one record per line, a keyword then key=value
 * fields with 0x-prefixed hexadecimal numbers (traces/FORMAT.md, "Text form"). */
#include <stdio.h>
#include <string.h>

#include "trace/trace_codec.h"

#define MAX_FIELDS 16

static const char *const access_type_names[] = { "read", "write", "fetch" };

static const char *access_type_name(unsigned type)
{
	return type < 3 ? access_type_names[type] : 0;
}

/* The outcome's name, then (from NW_TRACE_OUT_COUNT on) the old spelling an outcome is still read by. */
static const char *outcome_spelling(unsigned i)
{
	if (i >= NW_TRACE_OUT_COUNT)
		return nw_trace_outcome_old_name((enum nw_trace_outcome)(i - NW_TRACE_OUT_COUNT));
	return nw_trace_outcome_name((enum nw_trace_outcome)i);
}

/* Returned by a field lookup when the field is absent; parse.missing names it. */
static const char missing_field[] = "missing field";

static size_t format_expect(const struct nw_trace_expect *e, char *out)
{
	uint64_t vals[NW_EXPECT_FIELD_COUNT];
	size_t len = (size_t)sprintf(out, "expect");

	nw_trace_expect_get_fields(e, vals);
	for (unsigned f = 0; f < NW_EXPECT_FIELD_COUNT; f++) {
		if (!NW_EXPECT_HAS(e, f))
			continue;
		if (f == NW_EXPECT_OUTCOME)
			len += (size_t)sprintf(out + len, " outcome=%s", nw_trace_outcome_name(e->outcome));
		else
			len += (size_t)sprintf(out + len, " %s=0x%llx", nw_trace_expect_field_name(f),
					       (unsigned long long)vals[f]);
	}
	return len;
}

static size_t format_access(const struct nw_trace_access *a, enum nw_trace_arch arch, char *out)
{
	size_t len = (size_t)sprintf(out, "access gva=0x%llx size=0x%x type=%s", (unsigned long long)a->gva.val,
				     a->size, access_type_names[a->type]);

	if (arch == NW_TRACE_ARCH_AARCH64)
		return len + (size_t)sprintf(out + len, " el=0x%x%s", a->cpl, a->unpriv ? " unpriv" : "");
	if (arch == NW_TRACE_ARCH_RISCV64)
		return len + (size_t)sprintf(out + len, " priv=0x%x", a->cpl);
	return len +
	       (size_t)sprintf(out + len, " cpl=0x%x%s%s", a->cpl, a->implicit ? " implicit" : "", a->ac ? " ac" : "");
}

/* A fence operand: x0, or the register's value. */
static size_t format_operand(const char *key, bool x0, uint64_t value, char *out)
{
	if (x0)
		return (size_t)sprintf(out, " %s=x0", key);
	return (size_t)sprintf(out, " %s=0x%llx", key, (unsigned long long)value);
}

static size_t format_fence(const struct nw_rvfence *f, char *out)
{
	size_t len = (size_t)sprintf(out, "fence op=%s", nw_rvfence_name(f->op));

	len += format_operand("rs1", f->rs1_x0, f->rs1, out + len);
	return len + format_operand("rs2", f->rs2_x0, f->rs2, out + len);
}

size_t nw_trace_text_format(const struct nw_trace_record *rec, enum nw_trace_arch arch, char *out)
{
	const struct nw_trace_inv *inv = &rec->inv;
	size_t len = 0;

	switch (rec->kind) {
	case NW_TRACE_ACCESS:
		len = format_access(&rec->access, arch, out);
		break;
	case NW_TRACE_REG:
		len = (size_t)sprintf(out, "reg %s=0x%llx", nw_trace_reg_name(rec->reg.reg),
				      (unsigned long long)rec->reg.value);
		break;
	case NW_TRACE_GPWRITE:
		len = (size_t)sprintf(out, "gpwrite gpa=0x%llx bytes=", (unsigned long long)rec->gpwrite.gpa.val);
		for (uint32_t i = 0; i < rec->gpwrite.len; i++)
			len += (size_t)sprintf(out + len, "%02x", rec->gpwrite.data[i]);
		break;
	case NW_TRACE_INVLPG:
		len = (size_t)sprintf(out, "invlpg gva=0x%llx", (unsigned long long)inv->gva.val);
		break;
	case NW_TRACE_INVPCID:
	case NW_TRACE_INVVPID:
		len = (size_t)sprintf(out, "%s type=0x%x %s=0x%x gva=0x%llx", nw_trace_kind_name(rec->kind), inv->type,
				      rec->kind == NW_TRACE_INVPCID ? "pcid" : "vpid", inv->id,
				      (unsigned long long)inv->gva.val);
		break;
	case NW_TRACE_INVEPT:
		len = (size_t)sprintf(out, "invept type=0x%x eptp=0x%llx", inv->type, (unsigned long long)inv->eptp);
		break;
	case NW_TRACE_TLBI:
		len = (size_t)sprintf(out, "tlbi op=%s", nw_tlbi_name(rec->tlbi.op));
		if (nw_tlbi_has_operand(rec->tlbi.op))
			len += (size_t)sprintf(out + len, " xt=0x%llx", (unsigned long long)rec->tlbi.xt);
		break;
	case NW_TRACE_FENCE:
		len = format_fence(&rec->fence, out);
		break;
	case NW_TRACE_S2EDIT:
		len = (size_t)sprintf(out, "s2edit gpa=0x%llx level=0x%x clear=0x%llx set=0x%llx",
				      (unsigned long long)rec->s2edit.gpa.val, rec->s2edit.level,
				      (unsigned long long)rec->s2edit.clear, (unsigned long long)rec->s2edit.set);
		break;
	case NW_TRACE_MARK:
		len = (size_t)sprintf(out, "mark label=\"%s\"", rec->label);
		break;
	case NW_TRACE_EXPECT:
		len = format_expect(&rec->expect, out);
		break;
	case NW_TRACE_END:
		len = (size_t)sprintf(out, "end");
		break;
	}
	out[len++] = '\n';
	out[len] = 0;
	return len;
}

/* One token of a line: a bare word, or key=value. */
struct field {
	const char *key;
	const char *value; /* NULL for a bare word */
	size_t column;
	bool used;
};

struct parse {
	char *line;
	struct field fields[MAX_FIELDS];
	unsigned count;
	size_t column;       /* where the problem is */
	const char *missing; /* the absent field, with missing_field */
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits the line into fields, cutting a '#' comment (not inside quotes). */
static const char *tokenize(struct parse *ps)
{
	char *p = ps->line;

	for (;;) {
		struct field *f;

		while (is_space(*p))
			p++;
		if (!*p || *p == '#')
			return 0;
		if (ps->count == MAX_FIELDS) {
			ps->column = (size_t)(p - ps->line) + 1;
			return "too many fields on one line";
		}
		f = &ps->fields[ps->count++];
		*f = (struct field){ p, 0, (size_t)(p - ps->line) + 1, false };
		while (*p && !is_space(*p) && *p != '=' && *p != '#')
			p++;
		if (*p == '=') {
			*p++ = 0;
			f->value = p;
			if (*p == '"') {
				char *close = strchr(p + 1, '"');

				if (!close) {
					ps->column = (size_t)(p - ps->line) + 1;
					return "unterminated quoted string";
				}
				p = close + 1;
				if (*p && !is_space(*p) && *p != '#') {
					ps->column = (size_t)(p - ps->line) + 1;
					return "text after a closing quote";
				}
			} else {
				while (*p && !is_space(*p) && *p != '#')
					p++;
			}
		}
		if (*p == '#') {
			*p = 0;
			return 0;
		}
		if (*p)
			*p++ = 0;
	}
}

static struct field *find(struct parse *ps, const char *key)
{
	for (unsigned i = 1; i < ps->count; i++)
		if (!strcmp(ps->fields[i].key, key))
			return &ps->fields[i];
	return 0;
}

static const char *fail(struct parse *ps, const struct field *f, const char *problem)
{
	ps->column = f->column;
	return problem;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The value of KEY as a 0x-prefixed hex number no larger than max. */
static const char *number(struct parse *ps, const char *key, uint64_t max, uint64_t *out)
{
	struct field *f = find(ps, key);
	uint64_t val = 0;
	const char *p;

	if (!f) {
		ps->missing = key;
		return missing_field;
	}
	f->used = true;
	if (!f->value)
		return fail(ps, f, "a field needs a value (key=0x...)");
	p = f->value;
	if (p[0] != '0' || (p[1] != 'x' && p[1] != 'X') || hex_digit(p[2]) < 0)
		return fail(ps, f, "bad number: expected 0x followed by hexadecimal digits");
	for (p += 2; *p; p++) {
		int d = hex_digit(*p);

		if (d < 0)
			return fail(ps, f, "bad number: not a hexadecimal digit");
		if (val >> 60)
			return fail(ps, f, "number wider than 64 bits");
		val = val << 4 | (uint64_t)d;
	}
	if (val > max)
		return fail(ps, f, "value out of range for this field");
	*out = val;
	return 0;
}

/* The index of KEY's value among names, or the problem. */
static const char *word(struct parse *ps, const char *key, const char *(*name)(unsigned), unsigned n,
			unsigned *out)
{
	struct field *f = find(ps, key);

	if (!f) {
		ps->missing = key;
		return missing_field;
	}
	f->used = true;
	for (unsigned i = 0; f->value && i < n; i++) {
		if (name(i) && !strcmp(f->value, name(i))) {
			*out = i;
			return 0;
		}
	}
	return fail(ps, f, "unknown value for this field");
}

static bool flag(struct parse *ps, const char *key)
{
	struct field *f = find(ps, key);

	if (f && !f->value)
		f->used = true;
	return f && !f->value;
}

/* An access: x86_64 names its privilege cpl, with the flags implicit and ac; aarch64 names it el, with unpriv;
 * riscv64 names it priv, without flags. */
static const char *parse_access(struct parse *ps, enum nw_trace_arch arch, struct nw_trace_record *rec)
{
	static const char *const level_keys[NW_TRACE_ARCH_COUNT] = { "cpl", "el", "priv" };
	bool arm64 = arch == NW_TRACE_ARCH_AARCH64;
	uint64_t gva, size, level;
	unsigned type;
	const char *problem;

	if ((problem = number(ps, "gva", UINT64_MAX, &gva)) || (problem = number(ps, "size", 0xffff, &size)) ||
	    (problem = word(ps, "type", access_type_name, 3, &type)) ||
	    (problem = number(ps, level_keys[arch], 0xff, &level)))
		return problem;
	rec->access = (struct nw_trace_access){
		.gva = nw_gva(gva), .size = (uint32_t)size, .type = (enum nw_access_type)type, .cpl = (uint8_t)level
	};
	if (arm64) {
		rec->access.unpriv = flag(ps, "unpriv");
	} else if (arch == NW_TRACE_ARCH_X86_64) {
		rec->access.implicit = flag(ps, "implicit");
		rec->access.ac = flag(ps, "ac");
	}
	return 0;
}

static const char *parse_reg(struct parse *ps, struct nw_trace_record *rec)
{
	struct field *f;
	uint64_t val;
	const char *problem;

	if (ps->count != 2)
		return fail(ps, &ps->fields[0], "reg takes exactly one register=value field");
	f = &ps->fields[1];
	for (unsigned r = 0; r < NW_TRACE_REG_COUNT; r++) {
		if (strcmp(f->key, nw_trace_reg_name(r)))
			continue;
		if ((problem = number(ps, f->key, UINT64_MAX, &val)))
			return problem;
		rec->reg = (struct nw_trace_regwrite){ (enum nw_trace_reg)r, val };
		return 0;
	}
	return fail(ps, f, "unknown register (traces/FORMAT.md lists them)");
}

static const char *parse_gpwrite(struct parse *ps, struct nw_trace_record *rec, uint8_t *data)
{
	uint64_t gpa;
	const char *problem = number(ps, "gpa", UINT64_MAX, &gpa);
	struct field *f = find(ps, "bytes");
	size_t n;

	if (problem)
		return problem;
	if (!f) {
		ps->missing = "bytes";
		return missing_field;
	}
	f->used = true;
	n = f->value ? strlen(f->value) : 0;
	if (n == 0 || n % 2)
		return fail(ps, f, "bytes must be an even number of hexadecimal digits");
	if (n / 2 > NW_TRACE_MAX_DATA)
		return fail(ps, f, "more than 4096 bytes in one write");
	for (size_t i = 0; i < n; i += 2) {
		int hi = hex_digit(f->value[i]), lo = hex_digit(f->value[i + 1]);

		if (hi < 0 || lo < 0) {
			ps->column = f->column + 6 + i;
			return "bytes: not a hexadecimal digit";
		}
		data[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	rec->gpwrite = (struct nw_trace_gpwrite){ nw_gpa(gpa), (uint32_t)(n / 2), data };
	return 0;
}

static const char *parse_inv(struct parse *ps, struct nw_trace_record *rec)
{
	uint64_t type = 0, id = 0, gva = 0, eptp = 0;
	const char *problem = 0;

	if (rec->kind != NW_TRACE_INVLPG)
		problem = number(ps, "type", 0xff, &type);
	if (!problem && rec->kind == NW_TRACE_INVPCID)
		problem = number(ps, "pcid", 0xffff, &id);
	if (!problem && rec->kind == NW_TRACE_INVVPID)
		problem = number(ps, "vpid", 0xffff, &id);
	if (!problem && rec->kind != NW_TRACE_INVEPT)
		problem = number(ps, "gva", UINT64_MAX, &gva);
	if (!problem && rec->kind == NW_TRACE_INVEPT)
		problem = number(ps, "eptp", UINT64_MAX, &eptp);
	if (problem)
		return problem;
	rec->inv = (struct nw_trace_inv){ (uint8_t)type, (uint16_t)id, nw_gva(gva), eptp };
	return 0;
}

static const char *tlbi_op_name(unsigned op)
{
	return nw_tlbi_name((enum nw_tlbi_op)op);
}

/* op=NAME, and xt=0x... exactly for the operations that take a register. */
static const char *parse_tlbi(struct parse *ps, struct nw_trace_record *rec)
{
	struct field *xt;
	unsigned op;
	const char *problem = word(ps, "op", tlbi_op_name, NW_TLBI_OP_COUNT, &op);

	if (problem)
		return problem;
	rec->tlbi = (struct nw_trace_tlbi){ (enum nw_tlbi_op)op, 0 };
	if (nw_tlbi_has_operand(rec->tlbi.op))
		return number(ps, "xt", UINT64_MAX, &rec->tlbi.xt);
	xt = find(ps, "xt");
	return xt ? fail(ps, xt, "this tlbi takes no register (Rt is 31): no xt") : 0;
}

static const char *fence_op_name(unsigned op)
{
	return nw_rvfence_name((enum nw_rvfence_op)op);
}

/* A fence operand: rs1=x0 or rs1=0x..., never absent (x0 and a register holding 0 are different fences). */
static const char *operand(struct parse *ps, const char *key, bool *x0, uint64_t *value)
{
	struct field *f = find(ps, key);

	if (f && f->value && !strcmp(f->value, "x0")) {
		f->used = true;
		*x0 = true;
		return 0;
	}
	return number(ps, key, UINT64_MAX, value);
}

static const char *parse_fence(struct parse *ps, struct nw_trace_record *rec)
{
	struct nw_rvfence *f = &rec->fence;
	unsigned op;
	const char *problem;

	if ((problem = word(ps, "op", fence_op_name, NW_RVFENCE_OP_COUNT, &op)) ||
	    (problem = operand(ps, "rs1", &f->rs1_x0, &f->rs1)) || (problem = operand(ps, "rs2", &f->rs2_x0, &f->rs2)))
		return problem;
	f->op = (enum nw_rvfence_op)op;
	return 0;
}

/* gpa, level, clear and set, each a number (FORMAT.md, "Records"). */
static const char *parse_s2edit(struct parse *ps, struct nw_trace_record *rec)
{
	struct nw_trace_s2edit *e = &rec->s2edit;
	uint64_t level = 0;
	const char *problem;

	if ((problem = number(ps, "gpa", UINT64_MAX, &e->gpa.val)) || (problem = number(ps, "level", 0xff, &level)) ||
	    (problem = number(ps, "clear", UINT64_MAX, &e->clear)) || (problem = number(ps, "set", UINT64_MAX, &e->set)))
		return problem;
	e->level = (uint8_t)level;
	return 0;
}

static const char *parse_mark(struct parse *ps, struct nw_trace_record *rec)
{
	struct field *f = find(ps, "label");
	size_t len;

	if (!f) {
		ps->missing = "label";
		return missing_field;
	}
	f->used = true;
	if (!f->value || f->value[0] != '"')
		return fail(ps, f, "label must be a quoted string");
	len = strlen(f->value) - 2; /* tokenize() guarantees the closing quote is last */
	if (len > NW_TRACE_MAX_LABEL)
		return fail(ps, f, "label longer than 255 bytes");
	memcpy(rec->label, f->value + 1, len);
	rec->label[len] = 0;
	return 0;
}

static const char *parse_expect(struct parse *ps, struct nw_trace_record *rec)
{
	struct nw_trace_expect *e = &rec->expect;
	uint64_t vals[NW_EXPECT_FIELD_COUNT] = { 0 };
	const char *problem;

	for (unsigned f = 0; f < NW_EXPECT_FIELD_COUNT; f++) {
		const char *name = nw_trace_expect_field_name(f);
		unsigned outcome;

		if (!find(ps, name))
			continue;
		e->present |= 1u << f;
		if (f != NW_EXPECT_OUTCOME) {
			unsigned bits = 8 * nw_trace_expect_field_bytes(f);

			if ((problem = number(ps, name, bits == 64 ? UINT64_MAX : (1ull << bits) - 1, &vals[f])))
				return problem;
			continue;
		}
		if ((problem = word(ps, name, outcome_spelling, 2 * NW_TRACE_OUT_COUNT, &outcome)))
			return problem;
		vals[NW_EXPECT_OUTCOME] = outcome % NW_TRACE_OUT_COUNT;
	}
	if (!e->present)
		return fail(ps, &ps->fields[0], "expectation with no field");
	nw_trace_expect_set_fields(e, vals);
	return 0;
}

static const char *parse_fields(struct parse *ps, enum nw_trace_arch arch, struct nw_trace_record *rec, uint8_t *data)
{
	switch (rec->kind) {
	case NW_TRACE_ACCESS:
		return parse_access(ps, arch, rec);
	case NW_TRACE_REG:
		return parse_reg(ps, rec);
	case NW_TRACE_GPWRITE:
		return parse_gpwrite(ps, rec, data);
	case NW_TRACE_INVLPG:
	case NW_TRACE_INVPCID:
	case NW_TRACE_INVVPID:
	case NW_TRACE_INVEPT:
		return parse_inv(ps, rec);
	case NW_TRACE_TLBI:
		return parse_tlbi(ps, rec);
	case NW_TRACE_FENCE:
		return parse_fence(ps, rec);
	case NW_TRACE_S2EDIT:
		return parse_s2edit(ps, rec);
	case NW_TRACE_MARK:
		return parse_mark(ps, rec);
	case NW_TRACE_EXPECT:
		return parse_expect(ps, rec);
	case NW_TRACE_END:
		break;
	}
	return 0;
}

int nw_trace_text_parse(char *line, enum nw_trace_arch arch, struct nw_trace_record *rec, uint8_t *data, size_t *column,
			char *problem, size_t problem_len)
{
	struct parse ps = { .line = line };
	const char *why;
	unsigned kind;

	memset(rec, 0, sizeof(*rec));
	for (char *p = line; *p; p++) {
		if ((unsigned char)*p < 0x20 ? *p != '\t' : (unsigned char)*p > 0x7e) {
			ps.column = (size_t)(p - line) + 1;
			why = "a character outside printable ASCII";
			goto bad;
		}
	}
	why = tokenize(&ps);
	if (why)
		goto bad;
	if (ps.count == 0)
		return 0;
	for (kind = NW_TRACE_ACCESS; kind <= NW_TRACE_S2EDIT; kind++)
		if (!strcmp(ps.fields[0].key, nw_trace_kind_name(kind)))
			break;
	if (!strcmp(ps.fields[0].key, "end"))
		kind = NW_TRACE_END;
	if (ps.fields[0].value || (kind > NW_TRACE_S2EDIT && kind != NW_TRACE_END)) {
		why = fail(&ps, &ps.fields[0], "unknown record keyword");
		goto bad;
	}
	rec->kind = (enum nw_trace_kind)kind;
	why = parse_fields(&ps, arch, rec, data);
	if (why == missing_field) {
		*column = ps.fields[0].column;
		snprintf(problem, problem_len, "%s: missing field '%s'", nw_trace_kind_name(rec->kind), ps.missing);
		return -1;
	}
	if (why)
		goto bad;
	for (unsigned i = 1; i < ps.count; i++) {
		struct field *f = &ps.fields[i];

		if (!f->used) {
			why = find(&ps, f->key) != f ? "field given twice" : "unknown field for this record";
			why = fail(&ps, f, why);
			goto bad;
		}
	}
	why = nw_trace_record_check(rec);
	if (!why)
		return 1;
	ps.column = ps.fields[0].column;
bad:
	*column = ps.column;
	snprintf(problem, problem_len, "%s", why);
	return -1;
}
