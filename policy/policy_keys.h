/*
 * policy_keys.h — internal: the table of policy keys, one row per key.
 *
 * A row names its section and key, the zt_policy_key whose origin it
 * records (-1: none) and a setter that parses the value into the policy or
 * writes a one-line reason into msg.  The four class sections share their
 * rows (section "class"); the setter gets the class.  Adding a key is one
 * setter and one row; the parser, the unknown-key hints and the checks for
 * unknown sections all read this table.
 */
#ifndef ZT_POLICY_KEYS_H
#define ZT_POLICY_KEYS_H

#include <stddef.h>

#include "policy/policy.h"

#define ZT_CLASS_SECTION "class"

struct zt_key_def {
	const char *section;
	const char *name;
	int key;                /* enum zt_policy_key (+ class), or -1 */
	int (*set)(struct zt_policy *p, int cls, const char *value,
		   char *msg, size_t len);
};

extern const struct zt_key_def zt_key_defs[];
extern const size_t zt_key_count;

/* Sections in the order the man page lists them (NULL-terminated). */
extern const char *const zt_sections[];

/* The row for section/name (section may be a class name), or NULL. */
const struct zt_key_def *zt_key_find(const char *section, const char *name);
bool zt_section_known(const char *section);
/* "a, b or c" list of the keys of a section, or of all sections (NULL). */
void zt_key_list(const char *section, char *buf, size_t len);

#endif
