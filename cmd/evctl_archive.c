/*
 * evctl_archive.c - evctl export and evctl import: a log as one archive
 * file and back (the work is the library's, lib/archive.c; see
 * evctl(1) EXPORT and IMPORT).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evctl_archive.h"
#include "evlog.h"
#include "fe.h"

static const char export_usage_short[] = "Usage: " EVCTL_EXPORT_USAGE;

static const char export_usage_long[] =
	"Write a snapshot of LOG, up to its durable end when the export starts,\n"
	"as one archive (writers may go on appending meanwhile).  Segments are\n"
	"stored as they are.\n"
	"\n"
	"  --format FORMAT   tar, tar.zst, tar.gz or zip (default: from the\n"
	"                    name of FILE; tar for -o -)\n"
	"  -o, --output FILE the archive to write ('-': standard output)\n"
	"  -q, --quiet       print nothing on success\n"
	"  -h, --help        show this help and exit\n"
	"\n"
	"Exit status: 0 ok, 64 usage, 65 damaged log, 66 missing log, 74 I/O\n"
	"error.\n"
	"See evctl(1).\n";

static const char import_usage_short[] = "Usage: " EVCTL_IMPORT_USAGE;

static const char import_usage_long[] =
	"Unpack an archive FILE ('-': standard input) that evctl export wrote\n"
	"into a new log LOG: into a new directory beside LOG, checked and\n"
	"verified, then renamed to LOG.  Only the files a log holds are\n"
	"accepted; any other entry, a link, a device, an absolute or '..' path,\n"
	"a name twice, or a file larger than it may be refuses the archive.\n"
	"\n"
	"  --max-bytes SIZE  refuse an archive that unpacks to more than SIZE\n"
	"                    bytes (default: the free space where LOG goes)\n"
	"  -q, --quiet       print nothing on success\n"
	"  -h, --help        show this help and exit\n"
	"\n"
	"Exit status: 0 ok, 64 usage, 65 archive refused (hostile, damaged or\n"
	"too large), 66 missing archive, 73 LOG exists, 74 I/O error.\n"
	"See evctl(1).\n";

int evctl_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{"output", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	enum ev_archive_format fmt = EV_ARCHIVE_NONE;
	struct ev_export_report rep;
	struct ev_log *log = NULL;
	struct ev_error err;
	const char *out = NULL, *fmtname = NULL, *path;
	char b1[32];
	int c, quiet = 0, rc;

	while ((c = getopt_long(argc, argv, "ho:q", opts, NULL)) != -1) {
		switch (c) {
		case 'F':
			fmtname = optarg;
			break;
		case 'h':
			fe_help(export_usage_short, export_usage_long);
			return fflush(stdout) == 0 ? EV_EXIT_OK : EV_EXIT_IO;
		case 'o':
			out = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			return fe_usage_error(export_usage_short, NULL);
		}
	}
	if (optind + 1 != argc)
		return fe_usage_error(export_usage_short,
				      "export: expected one LOG operand");
	path = argv[optind];
	if (out == NULL)
		return fe_usage_error(export_usage_short,
				      "export: -o FILE is required ('-o -' "
				      "writes to standard output)");
	if (fmtname != NULL) {
		fmt = ev_archive_format_parse(fmtname);
		if (fmt == EV_ARCHIVE_NONE)
			return fe_usage_error(
				export_usage_short,
				"--format: '%s' is not tar, tar.zst, "
				"tar.gz or zip",
				fmtname);
	} else if (strcmp(out, "-") == 0) {
		fmt = EV_ARCHIVE_TAR;
	} else if ((fmt = ev_archive_format_by_name(out)) == EV_ARCHIVE_NONE) {
		return fe_usage_error(
			export_usage_short,
			"cannot tell the format from the name '%s' (.tar, "
			".tar.zst, .tar.gz or .zip); use --format",
			out);
	}
	if (strcmp(out, "-") == 0 && isatty(STDOUT_FILENO))
		return fe_usage_error(export_usage_short,
				      "will not write an archive to a "
				      "terminal; redirect standard output");
	if ((rc = ev_log_open(&log, path, &err)) != 0)
		return fe_report(&err);
	ev_log_set_notice(log, fe_warning, NULL);
	rc = strcmp(out, "-") == 0
		     ? ev_log_export_fd(log, STDOUT_FILENO, fmt, &rep, &err)
		     : ev_log_export(log, out, fmt, &rep, &err);
	if (rc != 0) {
		rc = fe_reportf(&err, "cannot export '%s'", path);
	} else if (!quiet && strcmp(out, "-") != 0) {
		printf("%s: %s %s (offsets %llu to %llu) in %llu %s to '%s'\n",
		       path, ev_commas(rep.end - rep.first, b1),
		       ev_plural(rep.end - rep.first, "event", "events"),
		       (unsigned long long)rep.first,
		       (unsigned long long)(rep.end ? rep.end - 1 : 0),
		       (unsigned long long)rep.segments,
		       ev_plural(rep.segments, "segment", "segments"), out);
		if (fflush(stdout) != 0)
			rc = EV_EXIT_IO;
	}
	ev_log_close(log);
	return rc;
}

int evctl_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"max-bytes", required_argument, NULL, 'M'},
		{"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	struct ev_import_opts o;
	struct ev_import_report rep;
	struct ev_error err;
	char b1[32];
	int c, quiet = 0, rc;

	memset(&o, 0, sizeof(o));
	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fe_help(import_usage_short, import_usage_long);
			return fflush(stdout) == 0 ? EV_EXIT_OK : EV_EXIT_IO;
		case 'M':
			if (fe_parse_size(optarg, &o.max_bytes) != 0 ||
			    o.max_bytes == 0)
				return fe_usage_error(
					import_usage_short,
					"--max-bytes: '%s' is not a size "
					"(such as 512M or 10G)",
					optarg);
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			return fe_usage_error(import_usage_short, NULL);
		}
	}
	if (optind + 2 != argc)
		return fe_usage_error(import_usage_short,
				      "import: expected FILE and LOG operands");
	if (strcmp(argv[optind], "-") == 0 && isatty(STDIN_FILENO))
		return fe_usage_error(import_usage_short,
				      "will not read an archive from a "
				      "terminal; redirect standard input");
	rc = ev_log_import(argv[optind], argv[optind + 1], &o, &rep, &err);
	if (rc != 0)
		return fe_report(&err);
	if (!quiet) {
		printf("%s: %s %s in %llu %s from '%s'\n", argv[optind + 1],
		       ev_commas(rep.events, b1),
		       ev_plural(rep.events, "event", "events"),
		       (unsigned long long)rep.segments,
		       ev_plural(rep.segments, "segment", "segments"),
		       argv[optind]);
		if (fflush(stdout) != 0)
			return EV_EXIT_IO;
	}
	return 0;
}
