/*
 * evctl_infer.c - evctl schema infer (placeholder of the base branch; its owner
 * replaces this file).
 */
#include <stdio.h>

#include "evctl_schema.h"

int evctl_schema_infer(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "evctl schema infer: not built yet\n");
	return 70;
}
