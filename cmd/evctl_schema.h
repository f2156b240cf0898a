/*
 * evctl_schema.h - the parts of 'evctl schema' that live in their own
 * files: each takes argv from its command's name on (argv[0] is the
 * program's name, as getopt words its messages with it) and returns the
 * exit status.
 */
#ifndef EVCTL_SCHEMA_H
#define EVCTL_SCHEMA_H

/*
 * The usage lines of each command, for its own --help and for evctl's
 * (docs.bats compares them): the first line without its "Usage: " or
 * indent, continuation lines indented under the first's options.
 */
#define EVCTL_SCHEMA_CHECK_USAGE                                                    \
	"evctl schema check --schemas DIR [--examples N] [--formats MODE]\n"        \
	"                          [--ref-dir [PREFIX=]DIR]... [--report FORMAT]\n" \
	"                          [--require-schemas] [--type GLOB]...\n"          \
	"                          [LOG | FILE... | -]\n"
#define EVCTL_SCHEMA_LINT_USAGE                                         \
	"evctl schema lint --schemas DIR [--ref-dir [PREFIX=]DIR]...\n" \
	"                         [--report FORMAT]\n"
#define EVCTL_SCHEMA_COMPAT_USAGE                                                   \
	"evctl schema compat [--mode MODE] [--report FORMAT]\n"                     \
	"                           [--data LOG [--examples N] [--upcast DIR]\n"    \
	"                           [--type TYPE]] OLD.json NEW.json\n"             \
	"       evctl schema compat --transitive [--mode MODE] [--report FORMAT]\n" \
	"                           DIR/TYPE/\n"
#define EVCTL_SCHEMA_INFER_USAGE                                           \
	"evctl schema infer [--type TYPE]... [--out DIR] [--enum-max N]\n" \
	"                          [--wrap [--type-from PATH]] [LOG | FILE... | -]\n"
#define EVCTL_SCHEMA_USAGE                                           \
	EVCTL_SCHEMA_CHECK_USAGE "       " EVCTL_SCHEMA_LINT_USAGE   \
				 "       " EVCTL_SCHEMA_COMPAT_USAGE \
				 "       " EVCTL_SCHEMA_INFER_USAGE

int cmd_schema(int argc, char **argv);		/* evctl_schema.c */
int evctl_schema_compat(int argc, char **argv); /* evctl_compat.c */
int evctl_schema_infer(int argc, char **argv);	/* evctl_infer.c */

#endif
