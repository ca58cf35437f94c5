/* What every JSON object nestwalk prints shares (docs/json.md): the version of the top-level objects, their
 * "schema" member, which changes when a member is renamed, removed or changes meaning (new members do not
 * change it); and strings written as JSON. */
#ifndef NESTWALK_SIM_JSON_OUT_H
#define NESTWALK_SIM_JSON_OUT_H

#include <stdio.h>

#define NW_JSON_SCHEMA 1
#define NW_JSON_TEXT_(x) #x
#define NW_JSON_TEXT(x) NW_JSON_TEXT_(x)
/* The member a top-level object starts with, for a format string. */
#define NW_JSON_SCHEMA_MEMBER "\"schema\": " NW_JSON_TEXT(NW_JSON_SCHEMA) ", "

/* text as a JSON string, quotes included. */
void nw_json_string(FILE *out, const char *text);

#endif
