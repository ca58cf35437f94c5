/* The bound on a `nestwalk mappings` listing, one for every stage (guest,
 * EPT, NPT): at most limit ranges are printed, then the listing closes with
 * how much it left out. Aliases are legal (many entries, or a table's own
 * entry, may point to one table: Linux's espfix area has thousands), so a
 * listing can be far longer than the guest's memory is large; the bound
 * keeps it finite. A cut listing still exits 0: what it prints is true, and
 * it says what it omitted (text: a closing line on stdout, JSON: fields;
 * both: the line on stderr). */
#ifndef NESTWALK_SIM_MAPPINGS_LISTING_H
#define NESTWALK_SIM_MAPPINGS_LISTING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define NW_LISTING_DEFAULT_LIMIT UINT64_C(100000) /* ranges; --limit 0 means no bound */

struct nw_listing {
	FILE *out;
	bool json;
	uint64_t limit;                      /* most ranges listed; 0: no bound */
	uint64_t ranges;                     /* ranges admitted so far (each is printed) */
	uint64_t printed;                    /* ranges printed so far */
	uint64_t listed_pages, listed_bytes; /* leaves in the printed ranges and the bytes they map */
	bool cut;                            /* a range was refused */
};

/* Starts the listing: the JSON object's opening with the stage's name ("guest", "ept", "npt"), or the legend
 * (what the letters and columns mean) as a "# " line, then the columns' names. */
void nw_listing_begin(struct nw_listing *l, FILE *out, bool json, uint64_t limit, const char *stage,
		      const char *legend, const char *columns);

/* A leaf's page size as a listing names it: 4K, 2M, 4M or 1G. A range holds leaves of one size. */
const char *nw_listing_page_name(uint64_t size);

/* Before a new range is opened: true when it will be listed; false once
 * limit ranges are (the listing is cut from here on). */
bool nw_listing_admit(struct nw_listing *l);

/* Before a range is printed: what goes in front of it ("," between JSON
 * items); counts it with its pages and bytes. */
const char *nw_listing_item(struct nw_listing *l, uint64_t pages, uint64_t bytes);

/* Closes the listing. total_pages and total_bytes: every leaf of the stage
 * (each alias counted) and the bytes they map; what the printed ranges do
 * not hold is reported as cut. */
void nw_listing_end(struct nw_listing *l, uint64_t total_pages, uint64_t total_bytes);

#endif
