/*
 * cli_list.h — internal to the ztier-ublk program (not the library):
 * `list` rendered from the library's data (cli_list.c).
 */
#ifndef ZT_UBLK_CLI_LIST_H
#define ZT_UBLK_CLI_LIST_H

#include <stdbool.h>
#include <stdio.h>

#include "ublk/ztublk.h"

/* Every device, kernel info and sections, as text or one JSON array.
 * 0 or -errno. */
int ztu_cli_list(FILE *out, bool json);
/* One section: a text line or a JSON member (the one place both are made). */
void ztu_cli_section(FILE *out, const struct ztu_section *s, bool json);

#endif
