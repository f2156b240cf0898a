/*
 * dlarchive.c - libarchive's table, filled when a run first opens or
 * writes an archive (dlarchive_int.h).
 */
#include <stdio.h>

#define EV_DL_TABLE
#include "dlarchive_int.h"

struct ev_archive_dl ev_libarchive;

#define SYM(f) EV_DL_SYM(struct ev_archive_dl, f)
static const struct ev_dl_sym syms[] = {EV_ARCHIVE_FUNCS(SYM)};

static struct ev_dl lib = EV_DL_INIT("libarchive.so.13", "EVLOG_LIBARCHIVE",
				     syms, &ev_libarchive);

int ev_dl_archive(const char *what, const char *subject, struct ev_error *err)
{
	return ev_dl_load(&lib, what, subject, err);
}

int ev_dl_archive_ready(void)
{
	return ev_dl_ready(&lib);
}

const char *ev_dl_archive_version(void)
{
	static char buf[600];

	if (ev_dl_ready(&lib))
		return ev_libarchive.archive_version_string();
	snprintf(buf, sizeof(buf), "libarchive (%s)", lib.why);
	return buf;
}
