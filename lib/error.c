/*
 * error.c - struct ev_error helpers and exit-code mapping.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "evlog_private.h"

int ev_exit_code(int status)
{
	switch (status) {
	case EV_OK:
		return EV_EXIT_OK;
	case EV_EUSAGE:
		return EV_EXIT_USAGE;
	case EV_EDATA:
		return EV_EXIT_DATA;
	case EV_ENOENT:
		return EV_EXIT_NOINPUT;
	case EV_EIO:
		return EV_EXIT_IO;
	case EV_EAGAIN:
		return EV_EXIT_TEMPFAIL;
	case EV_EEXIST:
		return EV_EXIT_CANTCREAT;
	case EV_EUNAVAIL:
		return EV_EXIT_UNAVAILABLE;
	default:
		return EV_EXIT_FAILURE;
	}
}

void ev_error_clear(struct ev_error *err)
{
	if (err == NULL)
		return;
	err->code = 0;
	err->column = 0;
	err->msg[0] = '\0';
	err->hint[0] = '\0';
	err->remedy = EV_REMEDY_NONE;
	err->subject[0] = '\0';
}

static void vset(struct ev_error *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void vset(struct ev_error *err, int code, const char *fmt, va_list ap)
{
	err->code = code;
	err->column = 0;
	err->hint[0] = '\0';
	err->remedy = EV_REMEDY_NONE;
	err->subject[0] = '\0';
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int ev_seterr(struct ev_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vset(err, code, fmt, ap);
		va_end(ap);
	}
	return code;
}

int ev_seterr_errno(struct ev_error *err, int code, int errnum, const char *fmt,
		    ...)
{
	va_list ap;
	size_t n;

	/* what ev_openat() refuses is not an I/O error: the directory
	 * holds something that is not the tools' file */
	if (errnum == ELOOP || errnum == EV_ENOTREG)
		code = EV_EDATA;
	if (err != NULL) {
		va_start(ap, fmt);
		vset(err, code, fmt, ap);
		va_end(ap);
		n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s",
			 errnum == ELOOP ? "a symbolic link, which is not "
					   "followed"
			 : errnum == EV_ENOTREG ? "not a regular file"
						: strerror(errnum));
	}
	return code;
}

void ev_say(ev_notice_fn fn, void *ctx, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	if (fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(ctx, msg);
}

void ev_err_prefix(struct ev_error *err, const char *fmt, ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;
	int n;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	snprintf(msg + n, sizeof(msg) - (size_t)n, "%s", err->msg);
	memcpy(err->msg, msg, sizeof(msg));
}

void ev_err_damaged(struct ev_error *err, const char *path, uint64_t offset)
{
	ev_err_prefix(err, "damaged data in '%s': offset %llu: ", path,
		      (unsigned long long)offset);
	err->code = EV_EDATA;
}

void ev_err_damaged_rec(struct ev_error *err, const char *path,
			const struct ev_rec *rec)
{
	if (!rec->kafka) {
		ev_err_damaged(err, path, rec->offset);
		return;
	}
	ev_err_prefix(err, "damaged data in '%s': offset %d:%lld: ", path,
		      (int)rec->partition, (long long)rec->koffset);
	err->code = EV_EDATA;
}

void ev_sethint(struct ev_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

void ev_setremedy(struct ev_error *err, int remedy, const char *subject)
{
	if (err == NULL)
		return;
	err->remedy = remedy;
	snprintf(err->subject, sizeof(err->subject), "%s",
		 subject != NULL ? subject : "");
}
