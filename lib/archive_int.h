/*
 * archive_int.h - the one interface between the reader and libarchive
 * (archive.c): a log read in place from an archive file.  The reader
 * asks for a segment by its base offset and gets a descriptor of an
 * anonymous in-memory file (memfd) holding the segment's bytes, which
 * it reads and checks exactly as it reads a segment of a directory.
 * Nothing here writes to disk.  Below it, the name rules archive.c
 * shares for import.  Not installed.
 */
#ifndef EVLOG_ARCHIVE_INT_H
#define EVLOG_ARCHIVE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "evlog_private.h"

struct archive;
struct archive_entry;

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

/* ---- for archive.c: the names a log's files have in an archive (arcsrc.c) */

#define COPY_CHUNK (1u << 20)
#define META_MAX 4095 /* what ev_log_open() reads of a meta file */
/* a segment holds at most segment-bytes, or one batch more when its
 * first batch alone is larger (evlog(5) Writers, step 5) */
#define SEG_SLACK ((uint64_t)EV_BATCHHDR_SIZE + EV_MAX_STORED)
#define SEG_MAX ((uint64_t)EV_MAX_SEGMENT_BYTES + SEG_SLACK)
/* the most a segment read in place may take in memory: twice the
 * default segment size, whatever a log's meta allows */
#define ARC_MEM_MAX ((uint64_t)2 * EV_DEFAULT_SEGMENT_BYTES)
#define LOCK_MAX 4096u
#define TYPECOUNTS_MAX ((uint64_t)64 << 20)
#define MAX_ENTRIES 4000000u
#define NAME_MAX_LEN 1024

enum ev_arc_kind {
	K_BAD,
	K_DIR, /* the one directory the log's files are in */
	K_META,
	K_HEAD,
	K_LOCK, /* lock or evdlq.lock: made empty, whatever the entry holds */
	K_TYPECOUNTS,
	K_SEG,
	K_IDX,
	K_TIX,
	K_SIX, /* a summary index: a cache, dropped and made again */
};

struct ev_arc_name {
	enum ev_arc_kind kind;
	uint64_t base; /* of a segment or index */
	char top[256]; /* the directory, "" when the files are at the top */
	char leaf[32]; /* the file's name in the log */
};

/* [./][TOP/]LEAF, or TOP/ for the directory: its kind, or K_BAD and *why. */
enum ev_arc_kind ev_arc_classify(const char *path, int is_dir,
				 struct ev_arc_name *a, const char **why);
/* A directory name an archive's log may have (letters, digits, ._-+@,). */
int ev_arc_top_ok(const char *s, size_t n);
/* The most bytes a file of kind may hold, given the log's segment size
 * (0: not known). */
uint64_t ev_arc_limit(enum ev_arc_kind k, uint64_t seg_bytes);
/* "" for a regular file or a directory (*is_dir), else why the entry is
 * refused ("a symbolic link", "a hard link", "not a regular file"). */
const char *ev_arc_entry_problem(struct archive_entry *e, int *is_dir);
/* name cut to 200 bytes, control characters as '?', for a message */
const char *ev_arc_shown(const char *name, char *buf, size_t n);
/* Open path (or fd when >= 0) for reading, tar and zip with any filter:
 * ARCHIVE_OK, or an error with *out kept for ev_arc_why(). */
int ev_arc_open_read(struct archive **out, const char *path, int fd);
const char *ev_arc_why(struct archive *a);

#endif
