/*
 * buf.c - struct ev_buf, the growable byte buffer every module writes into.
 */
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "evlog_private.h"

/*
 * A buffer of BUF_HUGE bytes or more asks for transparent huge pages
 * over its 2 MiB-aligned inside (a hint: the system may refuse).  Its
 * pages are new to the process, and on a virtual machine each 4 KiB
 * page's first touch can cost more than 10 microseconds: the snapshot
 * of a writer's million ids (16 MB) took 4,000 such faults at the end
 * of every bulk load, against 8 with huge pages.
 */
#define BUF_HUGE (4u << 20)
#define HUGE_PAGE (2u << 20)

void ev_huge_hint(void *p, size_t cap)
{
#ifdef MADV_HUGEPAGE
	uintptr_t lo, hi;

	if (cap < BUF_HUGE)
		return;
	lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
	hi = ((uintptr_t)p + cap) & ~(uintptr_t)(HUGE_PAGE - 1);
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
	(void)p;
	(void)cap;
#endif
}

/*
 * The heap asked to be backed by transparent huge pages (a hint).  On a
 * virtual machine the first touch of a 4 KiB page costs some 3 to 12
 * microseconds, nearly all of it outside the guest: a bulk load of a
 * million events touched 9,600 of them (37 MB of batch buffers, tables
 * while they are small, names, zstd's workspaces), where zstd -1
 * touches 2,600.  A huge page is one fault for 2 MiB: with this advice
 * the load takes 500 faults, and 896 ms against 983 run back to back
 * (zstd -1: 849), for a peak RSS of 113 MB against 99.  The heap is
 * first grown by 256 MiB, of which only what is used is ever touched,
 * so that the advice covers what the run allocates later.
 */
static void heap_huge(void)
{
#ifdef MADV_HUGEPAGE
	uint8_t *before = sbrk(0), *after, *p, *lo, *hi;

	p = malloc(1 << 20); /* past the heap there is: it grows */
	after = sbrk(0);
	/* the extension, wherever in it the block fell (the heap's free
	 * top, if any, came first) */
	if (p != NULL && before != (uint8_t *)-1 && after != (uint8_t *)-1 &&
	    after > before) {
		lo = (uint8_t *)(((uintptr_t)before + HUGE_PAGE - 1) &
				 ~(uintptr_t)(HUGE_PAGE - 1));
		hi = (uint8_t *)((uintptr_t)after &
				 ~(uintptr_t)(HUGE_PAGE - 1));
		if (hi > lo)
			(void)madvise(lo, (size_t)(hi - lo), MADV_HUGEPAGE);
	}
	free(p);
#endif
}

/*
 * For a process that allocates and frees large buffers at a high rate
 * on several threads (evpub's pipeline): one heap for all threads, in
 * huge pages (heap_huge()), grown 64 MiB at a time after its first 256,
 * serving requests up to 32 MiB rather than mmap(), and keeping what is
 * freed.  glibc's defaults (128 KiB steps, a threshold that moves, a
 * heap a thread) cost a bulk load of a million events some 400 mmap,
 * munmap, brk and mprotect calls, each of which takes the process's
 * memory-map lock that the other threads' page faults wait on: 90 to
 * 110 ms in those calls (strace -c), against 10 with these.  The
 * threads allocate little once their buffers are made (they are
 * recycled), so one heap's lock is not contended.
 */
void ev_malloc_bulk(void)
{
#ifdef M_TOP_PAD
#ifdef M_ARENA_MAX
	(void)mallopt(M_ARENA_MAX, 1);
#endif
	(void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
	(void)mallopt(M_TRIM_THRESHOLD, 512 << 20);
	(void)mallopt(M_TOP_PAD, 256 << 20);
	heap_huge();
	(void)mallopt(M_TOP_PAD, 64 << 20);
#endif
}

int ev_buf_reserve(struct ev_buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	if (EV_LIKELY(b->cap - b->len >= extra))
		return 0;
	need = b->len + extra;
	if (need < b->len)
		return EV_ERR;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL)
		return EV_ERR;
	ev_huge_hint(p, cap);
	b->p = p;
	b->cap = cap;
	return 0;
}

int ev_buf_reserve_exact(struct ev_buf *b, size_t extra)
{
	size_t need;
	uint8_t *p;

	if (b->cap - b->len >= extra)
		return 0;
	need = b->len + extra;
	if (need < b->len)
		return EV_ERR;
	p = realloc(b->p, need);
	if (p == NULL)
		return EV_ERR;
	ev_huge_hint(p, need);
	b->p = p;
	b->cap = need;
	return 0;
}

int ev_buf_append(struct ev_buf *b, const void *p, size_t n)
{
	if (ev_buf_reserve(b, n) != 0)
		return EV_ERR;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int ev_buf_putc(struct ev_buf *b, int c)
{
	if (ev_buf_reserve(b, 1) != 0)
		return EV_ERR;
	b->p[b->len++] = (uint8_t)c;
	return 0;
}

int ev_buf_puts(struct ev_buf *b, const char *s)
{
	return ev_buf_append(b, s, strlen(s));
}

void ev_buf_free(struct ev_buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/*
 * A zeroed table of n items of size sz, written now rather than left to
 * calloc: calloc's fresh pages map the shared zero page, so a table that
 * is probed before it is filled takes a copy-on-write fault, and a TLB
 * shootdown on every other thread's core, on each page's first store.
 */
void *ev_zalloc(size_t n, size_t sz)
{
	void *p;

	if (sz != 0 && n > SIZE_MAX / sz)
		return NULL;
	p = malloc(n * sz > 0 ? n * sz : 1);
	if (p != NULL)
		memset(p, 0, n * sz);
	return p;
}

const char *ev_commas(uint64_t v, char buf[32])
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	int i, j = 0, lead = n % 3;

	for (i = 0; i < n; i++) {
		if (i > 0 && (i - lead) % 3 == 0)
			buf[j++] = ',';
		buf[j++] = tmp[i];
	}
	buf[j] = '\0';
	return buf;
}

int ev_buf_printf(struct ev_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || ev_buf_reserve(b, (size_t)n + 1) != 0)
		return EV_ERR;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

const char *ev_plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}
