/* The two-dimensional walk as a picture (SVG 1.1): the grid the SDM and the
 * literature draw (Bhargava et al., ASPLOS 2008), guest levels down and
 * second-stage levels across. Each memory reference is one cell, numbered in
 * the order the hardware makes it: for each guest level the second-stage
 * walk of that guest table's address, then the guest entry itself; last the
 * second-stage walk of the final guest-physical address. */
#ifndef NESTWALK_SIM_WALK_SVG_H
#define NESTWALK_SIM_WALK_SVG_H

#include <stddef.h>
#include <stdio.h>

#include <nestwalk/pt_build.h>
#include <nestwalk/walk.h>

/* The second stage the walks went through: its format (levels, entry names) and its short name ("EPT", "NPT");
 * format NULL for none (GPA = HPA): the grid is the guest column alone. */
struct nw_walk_svg_stage2 {
	const struct nw_pt_format *format;
	const char *name;
};

/* One grid: a recorded walk (NW_WALK_RECORD), the line above it (NULL for none) and the text written under it
 * (its outcome, lines separated by '\n'). walk NULL: the heading and caption alone (a piece not translated). */
struct nw_walk_svg_grid {
	const struct nw_walk_result *walk;
	const char *heading;
	const char *caption;
};

/* The picture: title, then each grid (at most two, the pieces of an access) with its heading and caption, then
 * how to read them. Each grid is a group <g class="walk" id="walkG">, each reference in it <g class="cell"
 * id="walkG-refN"> ("cell fault" for the one that faulted), each position not reached <rect class="unreached">.
 * Text is escaped, any byte outside printable ASCII shown as '?'. 0, or -1 with err set when a walk's record
 * does not hold the references its count says it made (nothing written then). */
int nw_walk_svg_write(FILE *out, const struct nw_walk_svg_stage2 *s2, const char *title,
		      const struct nw_walk_svg_grid *grids, unsigned count, char *err, size_t errlen);

#endif
