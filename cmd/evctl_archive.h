/*
 * evctl_archive.h - evctl export and evctl import (evctl_archive.c):
 * each takes argv from its command's name on and returns the exit status.
 */
#ifndef EVCTL_ARCHIVE_H
#define EVCTL_ARCHIVE_H

/* Their usage lines, for their own --help and for evctl's. */
#define EVCTL_EXPORT_USAGE \
	"evctl export [--format FORMAT] [--quiet] -o FILE LOG\n"
#define EVCTL_IMPORT_USAGE \
	"evctl import [--max-bytes SIZE] [--quiet] FILE LOG\n"

int evctl_export(int argc, char **argv);
int evctl_import(int argc, char **argv);

#endif
