/*
 * evctl_schema.c - evctl schema check|lint|compat|infer (placeholder of the
 * base branch; its owner replaces this file).
 */
#include <stdio.h>
#include <string.h>

#include "evctl_schema.h"

int cmd_schema(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "compat") == 0)
		return evctl_schema_compat(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "infer") == 0)
		return evctl_schema_infer(argc - 1, argv + 1);
	fprintf(stderr, "evctl schema: not built yet\n");
	return 70;
}
