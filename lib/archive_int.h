/*
 * archive_int.h - the one interface between the reader and libarchive
 * (archive.c): a log read in place from an archive file.  The reader
 * asks for a segment by its base offset and gets a descriptor of an
 * anonymous in-memory file (memfd) holding the segment's bytes, which
 * it reads and checks exactly as it reads a segment of a directory.
 * Nothing here writes to disk.  Not installed.
 */
#ifndef EVLOG_ARCHIVE_INT_H
#define EVLOG_ARCHIVE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "evlog_private.h"

struct ev_arcsrc;

/*
 * Open path and list it (one pass over the archive): the log's meta and
 * head are kept, the segments noted.  EV_ENOENT when path is no archive
 * libarchive reads, EV_EDATA when it holds no log or two, or is damaged.
 */
int ev_arcsrc_open(struct ev_arcsrc **out, const char *path,
		   struct ev_error *err);
void ev_arcsrc_free(struct ev_arcsrc *s);
/* The archive's log: its meta parsed into log (path, id, config). */
const struct ev_log *ev_arcsrc_log(const struct ev_arcsrc *s);
/* Its head: 1 and *h when the archive holds a valid one, 0 if not. */
int ev_arcsrc_head(const struct ev_arcsrc *s, struct ev_head *h);
/* The bases of its segments, ascending. */
size_t ev_arcsrc_segments(const struct ev_arcsrc *s, const uint64_t **bases);
/* A descriptor (close-on-exec, at position 0) of an in-memory copy of the
 * segment at base, which the caller closes; the archive is read forward
 * to it, or from its start again when it lies behind.  EV_EDATA when the
 * archive is damaged or the entry is larger than a segment may be. */
int ev_arcsrc_segment(struct ev_arcsrc *s, uint64_t base, int *fd,
		      struct ev_error *err);

#endif
