/* The two-dimensional walk as an SVG grid (walk_svg.h). A grid is first laid
 * out as slots (which reference each position holds, in what order), then
 * drawn; the layout alone decides the numbering and the faulting cell. */
#include "replay/walk_svg.h"

#include <inttypes.h>
#include <string.h>

#include <nestwalk/paging_rules.h>

#include "replay/walk_print.h"

/* Rows: the guest levels from the top, then the final address. Columns: the second-stage levels from the top,
 * then the guest entry. */
#define MAX_ROWS (NW_MAX_LEVELS + 1)
#define MAX_COLS (NW_MAX_LEVELS + 1)

enum slot_kind {
	SLOT_NOT_REACHED = 0,
	SLOT_REF,      /* a memory reference */
	SLOT_REGISTER, /* a PAE PDPTE register: read at MOV CR3, no reference in the walk (§4.4.1) */
};

struct slot {
	enum slot_kind kind;
	unsigned number; /* SLOT_REF: its place in the hardware's order, from 1 */
	int level;       /* the entry's level in its stage */
	uint64_t entry;
	uint64_t table;  /* the table's host-physical address (physical without a second stage) */
	bool fault;      /* the reference that faulted */
};

struct grid {
	const struct nw_walk_result *walk;
	const struct nw_pt_format *guest; /* NULL with paging off: the final row alone */
	unsigned rows, cols;              /* guest levels; second-stage levels (0 without one) */
	struct slot slot[MAX_ROWS][MAX_COLS];
	unsigned refs;
};

static int row_level(const struct grid *g, unsigned row)
{
	return g->guest->top - (int)row;
}

/* The second-stage walk of one address: it starts at the top level and reads s2->refs entries down. */
static void lay_out_s2(struct grid *g, unsigned row, const struct nw_s2_result *s2)
{
	for (unsigned col = 0; col < g->cols && col < s2->refs; col++) {
		int level = (int)(g->cols - col);

		g->slot[row][col] = (struct slot){ .kind = SLOT_REF, .number = ++g->refs, .level = level,
						   .entry = s2->entries[level], .table = s2->tables[level].val,
						   .fault = s2->status != NW_S2_OK && col + 1 == s2->refs };
	}
}

/* The hardware's order: per guest level its table's second-stage walk, then the entry; then the final address's
 * second-stage walk. */
static void lay_out(struct grid *g, const struct nw_walk_result *walk, const struct nw_walk_svg_stage2 *s2)
{
	*g = (struct grid){ .walk = walk, .guest = nw_paging_format(walk->mode),
			    .cols = s2->format ? s2->format->top : 0 };
	g->rows = g->guest ? g->guest->top : 0;
	for (unsigned row = 0; row < g->rows; row++) {
		int level = row_level(g, row);
		const struct nw_walk_step *step = &walk->steps[level];
		struct slot *entry = &g->slot[row][g->cols];

		lay_out_s2(g, row, &step->s2);
		if (!step->read)
			continue;
		*entry = (struct slot){ .kind = SLOT_REF, .level = level, .entry = step->entry,
					.table = s2->format ? step->table_hpa.val : step->table_gpa.val,
					.fault = walk->outcome == NW_OUTCOME_PAGE_FAULT && walk->fault_level == level };
		if (nw_paging_is_pdpte_register(walk->mode, (unsigned)level))
			entry->kind = SLOT_REGISTER;
		else
			entry->number = ++g->refs;
	}
	lay_out_s2(g, g->rows, &walk->final_s2);
}

/* Geometry, in pixels, for 13 px monospace (about 8 px a character). */
enum {
	MARGIN = 24,
	CHAR_W = 8,
	LINE_H = 20,
	LABEL_W = 232,
	CELL_W = 176,
	CELL_H = 70,
	GAP = 10,
	HEAD_H = 44,
};

static const char FONT[] = "font-family=\"monospace\"";

/* text with the five XML specials escaped and any byte outside printable ASCII as '?', so the file is always
 * well-formed whatever a path holds. */
static void put_text(FILE *out, const char *text)
{
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		switch (*c) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default: fputc(*c >= 0x20 && *c < 0x7f ? *c : '?', out); break;
		}
	}
}

/* One line of text at (x, y); style: further attributes (fill, weight, size). */
static void put_line(FILE *out, int x, int y, const char *style, const char *text)
{
	fprintf(out, "<text x=\"%d\" y=\"%d\" %s %s>", x, y, FONT, style);
	put_text(out, text);
	fputs("</text>\n", out);
}

/* The longest line of text (lines separated by '\n'). */
static size_t longest_line(const char *text)
{
	size_t best = 0;

	while (text && *text) {
		size_t len = strcspn(text, "\n");

		best = len > best ? len : best;
		text += len + (text[len] == '\n');
	}
	return best;
}

/* width, or wider when text's longest line at char_w pixels a character needs it. */
static int wide_enough(int width, const char *text, int char_w)
{
	int need = (int)longest_line(text) * char_w;

	return need > width ? need : width;
}

static unsigned count_lines(const char *text)
{
	unsigned lines = 0;

	while (text && *text) {
		lines++;
		text += strcspn(text, "\n");
		text += *text == '\n';
	}
	return lines;
}

/* Each line of text, from y down; returns the y below the last. */
static int put_lines(FILE *out, int x, int y, const char *style, const char *text)
{
	char line[512];

	while (text && *text) {
		size_t len = strcspn(text, "\n");

		snprintf(line, sizeof(line), "%.*s", (int)len, text);
		put_line(out, x, y, style, line);
		y += LINE_H;
		text += len + (text[len] == '\n');
	}
	return y;
}

static int grid_width(unsigned cols)
{
	return LABEL_W + (int)(cols + 1) * (CELL_W + GAP);
}

static int grid_height(const struct nw_walk_svg_grid *gr, const struct grid *g)
{
	int h = gr->heading ? LINE_H + 8 : 0;

	if (gr->walk)
		h += HEAD_H + (int)(g->rows + 1) * (CELL_H + GAP);
	return h + (int)count_lines(gr->caption) * LINE_H + 2 * GAP;
}

/* The column heads: each second-stage level, then the guest entry; the corner says which way each stage goes. */
static void draw_heads(FILE *out, const struct grid *g, const struct nw_walk_svg_stage2 *s2, int x, int y)
{
	char text[96];

	snprintf(text, sizeof(text), "%s paging", nw_paging_mode_name(g->walk->mode));
	put_line(out, x, y + 16, "font-size=\"13\" font-weight=\"bold\"", text);
	if (s2->format)
		snprintf(text, sizeof(text), "guest levels down, %s across", s2->name);
	else
		snprintf(text, sizeof(text), "guest levels down, gpa = hpa");
	put_line(out, x, y + 34, "font-size=\"11\" fill=\"#555\"", text);
	for (unsigned col = 0; col <= g->cols; col++) {
		int cx = x + LABEL_W + (int)col * (CELL_W + GAP) + CELL_W / 2;

		if (col < g->cols)
			snprintf(text, sizeof(text), "%s L%u", s2->name, g->cols - col);
		else
			snprintf(text, sizeof(text), "guest entry");
		fprintf(out, "<text x=\"%d\" y=\"%d\" %s font-size=\"13\" font-weight=\"bold\" text-anchor=\"middle\">",
			cx, y + 26, FONT);
		put_text(out, text);
		fputs("</text>\n", out);
	}
}

/* The row's label: the guest level, its entry's index and table, or the final address. */
static void draw_row_label(FILE *out, const struct grid *g, unsigned row, int x, int y)
{
	const struct nw_walk_result *w = g->walk;
	char name[64], where[64];
	bool reached;

	if (row == g->rows) {
		reached = w->outcome == NW_OUTCOME_OK || w->final_s2.refs;
		snprintf(name, sizeof(name), "final address");
		if (reached)
			snprintf(where, sizeof(where), "gpa 0x%" PRIx64,
				 w->outcome == NW_OUTCOME_OK ? w->gpa.val : w->fault_gpa.val);
		else
			snprintf(where, sizeof(where), "not reached");
	} else {
		int level = row_level(g, row);
		const struct nw_walk_step *step = &w->steps[level];

		reached = step->read || step->s2.refs;
		snprintf(name, sizeof(name), "guest L%d %s", level, nw_walk_level_name(w->mode, level));
		if (reached && !nw_paging_is_pdpte_register(w->mode, (unsigned)level))
			snprintf(name + strlen(name), sizeof(name) - strlen(name), "[%u]", step->index);
		if (!reached)
			snprintf(where, sizeof(where), "not walked");
		else if (nw_paging_is_pdpte_register(w->mode, (unsigned)level))
			snprintf(where, sizeof(where), "loaded at MOV CR3");
		else
			snprintf(where, sizeof(where), "table gpa 0x%" PRIx64, step->table_gpa.val);
	}
	put_line(out, x, y + 30, reached ? "font-size=\"13\" font-weight=\"bold\"" : "font-size=\"13\" fill=\"#999\"",
		 name);
	put_line(out, x, y + 50, reached ? "font-size=\"12\" fill=\"#333\"" : "font-size=\"12\" fill=\"#999\"", where);
}

/* One slot: a numbered reference (the faulting one outlined in red), a PDPTE register, or an empty grey cell. */
static void draw_slot(FILE *out, const struct grid *g, const struct nw_walk_svg_stage2 *s2, unsigned index,
		      unsigned row, unsigned col, int x, int y)
{
	const struct slot *s = &g->slot[row][col];
	bool guest = col == g->cols; /* else a second-stage column: there is a second stage */
	const char *name;
	int digits;
	char text[80];

	if (s->kind == SLOT_NOT_REACHED) {
		fprintf(out, "<rect class=\"unreached\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"6\" "
			     "fill=\"#f2f2f2\" stroke=\"#ccc\" stroke-dasharray=\"4 3\"/>\n", x, y, CELL_W, CELL_H);
		return;
	}
	/* A guest entry is reached only with paging on: the guest format is there. */
	name = guest ? nw_walk_level_name(g->walk->mode, s->level) : s2->format->level[s->level].name;
	digits = guest && g->guest->entry_size == 4 ? 8 : 16;
	if (s->kind == SLOT_REF)
		fprintf(out, "<g class=\"cell%s\" id=\"walk%u-ref%u\">\n", s->fault ? " fault" : "", index, s->number);
	else
		fputs("<g class=\"register\">\n", out);
	fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"6\" fill=\"%s\" stroke=\"%s\" "
		     "stroke-width=\"%d\"/>\n", x, y, CELL_W, CELL_H,
		s->fault ? "#fde2de" : guest ? "#e3f2e6" : "#e4ecfb", s->fault ? "#c62828" : "#7a8ca8",
		s->fault ? 3 : 1);
	if (s->kind == SLOT_REF) {
		snprintf(text, sizeof(text), "%u", s->number);
		put_line(out, x + 8, y + 19, "font-size=\"14\" font-weight=\"bold\" fill=\"#1a3d8f\"", text);
	}
	snprintf(text, sizeof(text), "%s%s%s", guest ? "" : s2->name, guest ? "" : " ", name);
	put_line(out, x + (s->kind == SLOT_REF ? 36 : 8), y + 19, "font-size=\"12\" fill=\"#333\"", text);
	snprintf(text, sizeof(text), "0x%0*" PRIx64, digits, s->entry);
	put_line(out, x + 8, y + 41, "font-size=\"13\"", text);
	if (s->fault)
		snprintf(text, sizeof(text), "faulted here");
	else if (s->kind == SLOT_REGISTER)
		snprintf(text, sizeof(text), "register, no reference");
	else
		snprintf(text, sizeof(text), "table %s 0x%" PRIx64, s2->format ? "hpa" : "pa", s->table);
	put_line(out, x + 8, y + 60, s->fault ? "font-size=\"11\" font-weight=\"bold\" fill=\"#c62828\""
					      : "font-size=\"11\" fill=\"#555\"", text);
	fputs("</g>\n", out);
}

/* Where the final row's guest column would be: what the access reached. */
static void draw_result(FILE *out, const struct grid *g, const struct nw_walk_svg_stage2 *s2, int x, int y)
{
	const struct nw_walk_result *w = g->walk;
	char text[64];

	fprintf(out, "<rect class=\"result\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"6\" fill=\"%s\" "
		     "stroke=\"%s\"/>\n", x, y, CELL_W, CELL_H, w->outcome == NW_OUTCOME_OK ? "#fff8e1" : "#f2f2f2",
		w->outcome == NW_OUTCOME_OK ? "#b08900" : "#ccc");
	if (w->outcome != NW_OUTCOME_OK) {
		put_line(out, x + 8, y + 30, "font-size=\"12\" fill=\"#777\"", "no translation");
		return;
	}
	put_line(out, x + 8, y + 19, "font-size=\"12\" fill=\"#333\"", s2->format ? "data at hpa" : "data at pa");
	snprintf(text, sizeof(text), "0x%" PRIx64, w->hpa.val);
	put_line(out, x + 8, y + 41, "font-size=\"13\" font-weight=\"bold\"", text);
	snprintf(text, sizeof(text), "%s page 0x%" PRIx64, s2->format ? s2->name : "guest",
		 s2->format ? w->s2_page_size : w->guest_page_size);
	put_line(out, x + 8, y + 60, "font-size=\"11\" fill=\"#555\"", text);
}

/* Grid index (from 1) with its heading and caption, from y; returns the y below it. */
static int draw_grid(FILE *out, const struct nw_walk_svg_grid *gr, const struct grid *g,
		     const struct nw_walk_svg_stage2 *s2, unsigned index, int y)
{
	int x = MARGIN;

	fprintf(out, "<g class=\"walk\" id=\"walk%u\">\n", index);
	if (gr->heading) {
		put_line(out, x, y + 16, "font-size=\"14\" font-weight=\"bold\"", gr->heading);
		y += LINE_H + 8;
	}
	if (gr->walk) {
		draw_heads(out, g, s2, x, y);
		y += HEAD_H;
		for (unsigned row = 0; row <= g->rows; row++, y += CELL_H + GAP) {
			draw_row_label(out, g, row, x, y);
			for (unsigned col = 0; col <= g->cols; col++) {
				int cx = x + LABEL_W + (int)col * (CELL_W + GAP);

				if (row == g->rows && col == g->cols)
					draw_result(out, g, s2, cx, y);
				else
					draw_slot(out, g, s2, index, row, col, cx, y);
			}
		}
	}
	y = put_lines(out, x, y + 16, "font-size=\"13\"", gr->caption) - 16 + 2 * GAP;
	fputs("</g>\n", out);
	return y;
}

/* Under the grids: how to read them, with a second stage and without. */
static const char legend_2d[] =
	"Numbers: the order of the memory references. For each guest level, the second stage translates the "
	"guest table's address,\nthen the guest entry is read; last, the second stage translates the final "
	"guest-physical address. Grey: not reached.\nRed: the reference that faulted.";
static const char legend_1d[] =
	"Numbers: the order of the memory references, one guest entry per level (no second stage: gpa = hpa).\n"
	"Grey: not reached. Red: the reference that faulted.";

int nw_walk_svg_write(FILE *out, const struct nw_walk_svg_stage2 *s2, const char *title,
		      const struct nw_walk_svg_grid *grids, unsigned count, char *err, size_t errlen)
{
	struct grid layout[2] = { 0 };
	const char *legend = s2->format ? legend_2d : legend_1d;
	int width = grid_width(s2->format ? s2->format->top : 0), height = MARGIN + LINE_H + GAP, y;

	if (count > 2) {
		snprintf(err, errlen, "an access has at most two pieces, not %u", count);
		return -1;
	}
	for (unsigned i = 0; i < count; i++) {
		if (grids[i].walk) {
			lay_out(&layout[i], grids[i].walk, s2);
			if (layout[i].refs != grids[i].walk->refs) {
				snprintf(err, errlen, "the walk's record holds %u memory references, its count %u",
					 layout[i].refs, grids[i].walk->refs);
				return -1;
			}
		}
		width = wide_enough(wide_enough(width, grids[i].caption, CHAR_W), grids[i].heading, CHAR_W);
		height += grid_height(&grids[i], &layout[i]);
	}
	/* The title is larger type, the legend smaller. */
	width = wide_enough(wide_enough(width, title, CHAR_W + 1), legend, CHAR_W - 1) + 2 * MARGIN;
	height += (int)count_lines(legend) * LINE_H + MARGIN;
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		     "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
		     "viewBox=\"0 0 %d %d\">\n<title>", width, height, width, height);
	put_text(out, title);
	fprintf(out, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width, height);
	put_line(out, MARGIN, MARGIN + 12, "font-size=\"15\" font-weight=\"bold\"", title);
	y = MARGIN + LINE_H + GAP;
	for (unsigned i = 0; i < count; i++)
		y = draw_grid(out, &grids[i], &layout[i], s2, i + 1, y);
	put_lines(out, MARGIN, y + 4, "font-size=\"11\" fill=\"#555\"", legend);
	fputs("</svg>\n", out);
	return 0;
}
