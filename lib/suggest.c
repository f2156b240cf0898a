/*
 * suggest.c - "did you mean": the closest of a list of names to a
 * misspelt one, for the messages about unknown fields and attributes.
 */
#include <string.h>

#include "evlog_private.h"

/* edit distance for "did you mean" (names are short) */
static size_t edit_distance(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b), i, j, prev, cur, tmp;
	size_t row[32];

	if (an >= 31 || bn >= 31)
		return 99;
	for (j = 0; j <= bn; j++)
		row[j] = j;
	for (i = 1; i <= an; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= bn; j++) {
			cur = row[j];
			tmp = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < tmp)
				tmp = row[j] + 1;
			if (row[j - 1] + 1 < tmp)
				tmp = row[j - 1] + 1;
			row[j] = tmp;
			prev = cur;
		}
	}
	return row[bn];
}

const char *ev_suggest(const char *k, size_t n, const char *const *names,
		       size_t count)
{
	size_t i, best = 3, d;
	const char *s = NULL;

	for (i = 0; i < count; i++) {
		d = edit_distance(k, n, names[i]);
		if (d < best) {
			best = d;
			s = names[i];
		}
	}
	return s;
}
