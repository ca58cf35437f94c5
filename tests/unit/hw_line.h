/* What the hw run verdict tests share (test_hw_a64_verdict.c, test_hw_rv_verdict.c): the image's line for case 0
 * parsed as `nestwalk hw run` parses the backend's output, and what the command makes of it. */
#ifndef NESTWALK_TEST_HW_LINE_H
#define NESTWALK_TEST_HW_LINE_H

#include <criterion/criterion.h>
#include <stdio.h>

#include "hw/hw_run.h"

/* "c 0 REST" from the image of backend (a name of nw_hw_backend_find), parsed. */
static inline struct nw_hw_outcome hw_line(const char *backend, const char *rest)
{
	const struct nw_hw_backend *b = nw_hw_backend_find(backend);
	struct nw_hw_outcome o = { 0 };
	char line[160];

	cr_assert_not_null(b);
	snprintf(line, sizeof(line), "c 0 %s\n", rest);
	nw_hw_outcomes_parse(line, b, &o, 1);
	return o;
}

/* A line's verdict, the id of the row of hw/DEVIATIONS.md that explains it (NULL: none) and what differs. */
struct judged {
	enum nw_hw_verdict verdict;
	const char *row;
	char problem[256];
};

#endif
