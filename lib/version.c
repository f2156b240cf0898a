/*
 * version.c - the versions of evlog and of the libraries it uses, for
 * --version (libarchive's is read when it can be loaded).
 */
#include <stdio.h>
#include <string.h>

#include <msgpack.h>
#include <zstd.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <lua.h>

#include "dlarchive_int.h"
#include "evlog_private.h"

const char *ev_version_string(void)
{
	static char buf[260];
	char pcre[64] = "";

	if (buf[0] == '\0') {
		/* "10.42 2022-12-11": the number is enough */
		pcre2_config(PCRE2_CONFIG_VERSION, pcre);
		pcre[strcspn(pcre, " ")] = '\0';
		snprintf(buf, sizeof(buf),
			 "evlog %s (format %d), msgpack-c %s, zstd %s, %s, "
			 "%s, PCRE2 %s",
			 EVLOG_VERSION, EV_FORMAT_VERSION, msgpack_version(),
			 ZSTD_versionString(), LUA_RELEASE,
			 ev_dl_archive_version(), pcre);
	}
	return buf;
}
