/*
 * evctl_schema.h - the parts of 'evctl schema' that live in their own
 * files: each takes argv[0] = its subcommand name, returns the exit status.
 */
#ifndef EVCTL_SCHEMA_H
#define EVCTL_SCHEMA_H

int cmd_schema(int argc, char **argv);		/* evctl_schema.c */
int evctl_schema_compat(int argc, char **argv); /* evctl_compat.c */
int evctl_schema_infer(int argc, char **argv);	/* evctl_infer.c */

#endif
