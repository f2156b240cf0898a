/*
 * dlarchive_int.h - libarchive, loaded when a run first opens or writes
 * an archive (dl_int.h).  Include this instead of <archive.h> and
 * <archive_entry.h>, and call ev_dl_archive() before the first archive_*
 * call of a run; a function missing from EV_ARCHIVE_FUNCS fails the
 * tools' link.  Not installed.
 */
#ifndef EVLOG_DLARCHIVE_INT_H
#define EVLOG_DLARCHIVE_INT_H

#include <archive.h>
#include <archive_entry.h>

#include "dl_int.h"

/* the functions evlog calls, each a member of struct ev_archive_dl */
#define EV_ARCHIVE_FUNCS(X)                        \
	X(archive_entry_filetype)                  \
	X(archive_entry_free)                      \
	X(archive_entry_hardlink)                  \
	X(archive_entry_new)                       \
	X(archive_entry_pathname)                  \
	X(archive_entry_set_filetype)              \
	X(archive_entry_set_mtime)                 \
	X(archive_entry_set_pathname)              \
	X(archive_entry_set_perm)                  \
	X(archive_entry_set_size)                  \
	X(archive_entry_size)                      \
	X(archive_entry_size_is_set)               \
	X(archive_entry_symlink)                   \
	X(archive_error_string)                    \
	X(archive_filter_bytes)                    \
	X(archive_format)                          \
	X(archive_read_data)                       \
	X(archive_read_free)                       \
	X(archive_read_new)                        \
	X(archive_read_next_header)                \
	X(archive_read_open_fd)                    \
	X(archive_read_open_filename)              \
	X(archive_read_support_filter_bzip2)       \
	X(archive_read_support_filter_compress)    \
	X(archive_read_support_filter_gzip)        \
	X(archive_read_support_filter_lz4)         \
	X(archive_read_support_filter_lzip)        \
	X(archive_read_support_filter_lzma)        \
	X(archive_read_support_filter_xz)          \
	X(archive_read_support_filter_zstd)        \
	X(archive_read_support_format_gnutar)      \
	X(archive_read_support_format_tar)         \
	X(archive_read_support_format_zip)         \
	X(archive_write_add_filter_gzip)           \
	X(archive_write_add_filter_zstd)           \
	X(archive_write_close)                     \
	X(archive_write_data)                      \
	X(archive_write_free)                      \
	X(archive_write_header)                    \
	X(archive_write_new)                       \
	X(archive_write_open_fd)                   \
	X(archive_write_set_bytes_in_last_block)   \
	X(archive_write_set_format_pax_restricted) \
	X(archive_write_set_format_zip)            \
	X(archive_write_set_options)               \
	X(archive_version_string)

struct ev_archive_dl {
	EV_ARCHIVE_FUNCS(EV_DL_SLOT)
};
extern struct ev_archive_dl ev_libarchive;

/* Load libarchive.so.13 (or $EVLOG_LIBARCHIVE) once: 0, or EV_EUNAVAIL
 * with "WHAT 'SUBJECT': cannot load libarchive.so.13: ..." in err. */
int ev_dl_archive(const char *what, const char *subject, struct ev_error *err);
/* 1 when it is loaded (loading it if need be), 0 when it cannot be */
int ev_dl_archive_ready(void);
/* "libarchive 3.6.2 ...", or why it cannot be loaded, for --version */
const char *ev_dl_archive_version(void);

/* each call through the table; the .c file that fills it goes without */
#ifndef EV_DL_TABLE
#define archive_entry_filetype(...) \
	ev_libarchive.archive_entry_filetype(__VA_ARGS__)
#define archive_entry_free(...) ev_libarchive.archive_entry_free(__VA_ARGS__)
#define archive_entry_hardlink(...) \
	ev_libarchive.archive_entry_hardlink(__VA_ARGS__)
#define archive_entry_new(...) ev_libarchive.archive_entry_new(__VA_ARGS__)
#define archive_entry_pathname(...) \
	ev_libarchive.archive_entry_pathname(__VA_ARGS__)
#define archive_entry_set_filetype(...) \
	ev_libarchive.archive_entry_set_filetype(__VA_ARGS__)
#define archive_entry_set_mtime(...) \
	ev_libarchive.archive_entry_set_mtime(__VA_ARGS__)
#define archive_entry_set_pathname(...) \
	ev_libarchive.archive_entry_set_pathname(__VA_ARGS__)
#define archive_entry_set_perm(...) \
	ev_libarchive.archive_entry_set_perm(__VA_ARGS__)
#define archive_entry_set_size(...) \
	ev_libarchive.archive_entry_set_size(__VA_ARGS__)
#define archive_entry_size(...) ev_libarchive.archive_entry_size(__VA_ARGS__)
#define archive_entry_size_is_set(...) \
	ev_libarchive.archive_entry_size_is_set(__VA_ARGS__)
#define archive_entry_symlink(...) \
	ev_libarchive.archive_entry_symlink(__VA_ARGS__)
#define archive_error_string(...) \
	ev_libarchive.archive_error_string(__VA_ARGS__)
#define archive_filter_bytes(...) \
	ev_libarchive.archive_filter_bytes(__VA_ARGS__)
#define archive_format(...) ev_libarchive.archive_format(__VA_ARGS__)
#define archive_read_data(...) ev_libarchive.archive_read_data(__VA_ARGS__)
#define archive_read_free(...) ev_libarchive.archive_read_free(__VA_ARGS__)
#define archive_read_new(...) ev_libarchive.archive_read_new(__VA_ARGS__)
#define archive_read_next_header(...) \
	ev_libarchive.archive_read_next_header(__VA_ARGS__)
#define archive_read_open_fd(...) \
	ev_libarchive.archive_read_open_fd(__VA_ARGS__)
#define archive_read_open_filename(...) \
	ev_libarchive.archive_read_open_filename(__VA_ARGS__)
#define archive_read_support_filter_bzip2 \
	(ev_libarchive.archive_read_support_filter_bzip2)
#define archive_read_support_filter_compress \
	(ev_libarchive.archive_read_support_filter_compress)
#define archive_read_support_filter_gzip \
	(ev_libarchive.archive_read_support_filter_gzip)
#define archive_read_support_filter_lz4 \
	(ev_libarchive.archive_read_support_filter_lz4)
#define archive_read_support_filter_lzip \
	(ev_libarchive.archive_read_support_filter_lzip)
#define archive_read_support_filter_lzma \
	(ev_libarchive.archive_read_support_filter_lzma)
#define archive_read_support_filter_xz \
	(ev_libarchive.archive_read_support_filter_xz)
#define archive_read_support_filter_zstd \
	(ev_libarchive.archive_read_support_filter_zstd)
#define archive_read_support_format_gnutar \
	(ev_libarchive.archive_read_support_format_gnutar)
#define archive_read_support_format_tar \
	(ev_libarchive.archive_read_support_format_tar)
#define archive_read_support_format_zip \
	(ev_libarchive.archive_read_support_format_zip)
#define archive_write_add_filter_gzip \
	(ev_libarchive.archive_write_add_filter_gzip)
#define archive_write_add_filter_zstd \
	(ev_libarchive.archive_write_add_filter_zstd)
#define archive_write_close(...) ev_libarchive.archive_write_close(__VA_ARGS__)
#define archive_write_data(...) ev_libarchive.archive_write_data(__VA_ARGS__)
#define archive_write_free(...) ev_libarchive.archive_write_free(__VA_ARGS__)
#define archive_write_header(...) \
	ev_libarchive.archive_write_header(__VA_ARGS__)
#define archive_write_new(...) ev_libarchive.archive_write_new(__VA_ARGS__)
#define archive_write_open_fd(...) \
	ev_libarchive.archive_write_open_fd(__VA_ARGS__)
#define archive_write_set_bytes_in_last_block \
	(ev_libarchive.archive_write_set_bytes_in_last_block)
#define archive_write_set_format_pax_restricted \
	(ev_libarchive.archive_write_set_format_pax_restricted)
#define archive_write_set_format_zip \
	(ev_libarchive.archive_write_set_format_zip)
#define archive_write_set_options(...) \
	ev_libarchive.archive_write_set_options(__VA_ARGS__)
#define archive_version_string(...) \
	ev_libarchive.archive_version_string(__VA_ARGS__)
#endif

#endif
