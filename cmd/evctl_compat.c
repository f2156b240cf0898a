/*
 * evctl_compat.c - evctl schema compat (placeholder of the base branch; its
 * owner replaces this file).
 */
#include <stdio.h>

#include "evctl_schema.h"

int evctl_schema_compat(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "evctl schema compat: not built yet\n");
	return 70;
}
