/*
 * handler.c - struct ev_runner: runs handler commands for events.
 *
 * A handler is "sh -c CMD" with the events on its standard input.  Each
 * runs in its own process group under a small supervisor process that
 * kills the whole group if we die, even by SIGKILL (see supervise()), and
 * inherits no descriptor of ours: everything evlog opens is close-on-exec.
 * Its standard output is ours; its standard error passes through ours
 * too, and the last EV_STDERR_KEEP bytes of it are kept for the dead
 * letter.  When the handler exits, whatever it left running in its group
 * is killed.  Up to max_parallel handlers run at once; the runner feeds
 * their input, forwards their errors and reaps them in one poll loop,
 * waiting on pidfds rather than on SIGCHLD.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evlog_private.h"

struct proc {
	int used;
	pid_t pid;
	int pidfd, in_fd, err_fd;
	const uint8_t *in;
	size_t in_len, in_off;
	char err_tail[EV_STDERR_KEEP];
	size_t err_len;	 /* bytes in err_tail (a ring once full) */
	size_t err_head; /* next write position when full */
	int64_t start_ms, deadline_ms, kill_ms;
	int timed_out, exited;
	int status;
	void *tag;
};

struct ev_runner {
	struct proc *p;
	int max;
	int running;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ev_runner *ev_runner_new(int max_parallel)
{
	struct ev_runner *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->max = max_parallel > 0 ? max_parallel : 1;
	r->p = calloc((size_t)r->max, sizeof(*r->p));
	if (r->p == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

int ev_runner_running(const struct ev_runner *r)
{
	return r->running;
}

int ev_runner_free_slots(const struct ev_runner *r)
{
	return r->max - r->running;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void keep_stderr(struct proc *p, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p->err_len < EV_STDERR_KEEP) {
			p->err_tail[p->err_len++] = buf[i];
		} else {
			p->err_tail[p->err_head] = buf[i];
			p->err_head = (p->err_head + 1) % EV_STDERR_KEEP;
		}
	}
}

/* The variables a handler gets from us; none leaks in from our own
 * environment when a run has no value for it. */
static const char *const handler_vars[] = {
	"EV_OFFSET",	"EV_ID",    "EV_TYPE",	      "EV_STREAM",
	"EV_ATTEMPT",	"EV_COUNT", "EV_LAST_OFFSET", "EV_DLQ_OFFSET",
	"EV_PARTITION", NULL,
};

/*
 * The forked child.  It leads a new process group and stays as a small
 * supervisor of "sh -c CMD", which runs in the same group: when evtail
 * dies, even by SIGKILL, the kernel signals the supervisor
 * (PR_SET_PDEATHSIG), and it kills the whole group, so no handler or
 * child of one outlives us.  Otherwise it waits for the shell and exits
 * as the shell did.  Group signals (our timeouts) reach the shell; the
 * supervisor ignores them until the shell is gone.
 */
static void supervise(const char *cmd, const int inp[2], const int errp[2],
		      char *const *env_add, pid_t parent)
{
	char sh_name[] = "sh", dash_c[] = "-c";
	char *argv[] = {sh_name, dash_c, (char *)cmd, NULL};
	sigset_t set, none, dfl;
	posix_spawnattr_t sa;
	pid_t sh;
	int i, sig, status;

	setpgid(0, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_SETMASK, &set, NULL);
	prctl(PR_SET_PDEATHSIG, SIGUSR1);
	if (getppid() != parent)
		_exit(127); /* evtail died before the prctl */
	/* keep nothing of evtail's but stdout: a lock it holds must die
	 * with it, and the write end of another handler's stdin would keep
	 * that one from its EOF */
	if (dup2(inp[0], 0) < 0 || dup2(errp[1], 2) < 0)
		_exit(127);
	close_range(3, ~0U, 0);
	/* the shell's environment: ours (a copy of evtail's), with the
	 * run's variables and none of them left over */
	for (i = 0; handler_vars[i] != NULL; i++)
		unsetenv(handler_vars[i]);
	for (i = 0; env_add != NULL && env_add[i] != NULL; i++)
		putenv(env_add[i]);
	/* spawned, not forked: a fork would copy evtail's whole address
	 * space (tens of MB with a Kafka consumer's buffers) a second time
	 * per run, and the exec would tear the copy down again */
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	if (posix_spawnattr_init(&sa) != 0 ||
	    posix_spawnattr_setsigmask(&sa, &none) != 0 ||
	    posix_spawnattr_setsigdefault(&sa, &dfl) != 0 ||
	    posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGMASK |
						  POSIX_SPAWN_SETSIGDEF) != 0 ||
	    posix_spawn(&sh, "/bin/sh", NULL, &sa, argv, environ) != 0)
		_exit(127);
	/* only the shell and its children hold the pipes */
	close(0);
	close(2);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGUSR1) {
			/* evtail is gone: so is everything it started */
			kill(0, SIGKILL);
			_exit(137);
		}
		if (sig == SIGCHLD && waitpid(sh, &status, WNOHANG) == sh)
			break;
	}
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	sig = WTERMSIG(status);
	signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigaddset(&none, sig);
	sigprocmask(SIG_UNBLOCK, &none, NULL);
	kill(getpid(), sig);
	_exit(128 + sig);
}

int ev_runner_start(struct ev_runner *r, const char *cmd, const uint8_t *in,
		    size_t in_len, char *const *env_add, int64_t timeout_ms,
		    void *tag, struct ev_error *err)
{
	struct proc *p = NULL;
	int inp[2] = {-1, -1}, errp[2] = {-1, -1}, i, pidfd;
	pid_t parent = getpid(), pid;

	for (i = 0; i < r->max; i++)
		if (!r->p[i].used) {
			p = &r->p[i];
			break;
		}
	if (p == NULL)
		return ev_seterr(err, EV_ERR, "no free handler slot");
	if (pipe2(inp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
		int e = errno;
		close_fd(&inp[0]);
		close_fd(&inp[1]);
		return ev_seterr_errno(err, EV_ERR, e, "cannot create a pipe");
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close_fd(&inp[0]);
		close_fd(&inp[1]);
		close_fd(&errp[0]);
		close_fd(&errp[1]);
		return ev_seterr_errno(err, EV_ERR, e, "cannot start handler");
	}
	if (pid == 0)
		supervise(cmd, inp, errp, env_add, parent); /* never returns */
	/* the parent: set the group here too, so a kill never misses it */
	setpgid(pid, pid);
	close(inp[0]);
	close(errp[1]);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	memset(p, 0, sizeof(*p));
	p->used = 1;
	p->pid = pid;
	p->pidfd = pidfd;
	p->in_fd = inp[1];
	p->err_fd = errp[0];
	p->in = in;
	p->in_len = in_len;
	p->tag = tag;
	p->start_ms = now_ms();
	p->deadline_ms = timeout_ms > 0 ? p->start_ms + timeout_ms : 0;
	fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
	if (in_len == 0)
		close_fd(&p->in_fd);
	r->running++;
	return 0;
}

/* Collect a finished process into done and free its slot. */
static void finish(struct ev_runner *r, struct proc *p, struct ev_done *d)
{
	size_t n = p->err_len, first;

	/* stragglers of the handler's process group go with it */
	kill(-p->pid, SIGKILL);
	d->tag = p->tag;
	d->seconds = (double)(now_ms() - p->start_ms) / 1000.0;
	d->timed_out = p->timed_out;
	d->exit_status = WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1;
	d->signal = WIFSIGNALED(p->status) ? WTERMSIG(p->status) : 0;
	d->ok = !p->timed_out && WIFEXITED(p->status) &&
		WEXITSTATUS(p->status) == 0;
	/* the ring, oldest byte first */
	first = n < EV_STDERR_KEEP ? 0 : p->err_head;
	memcpy(d->stderr_tail, p->err_tail + first, n - first);
	memcpy(d->stderr_tail + (n - first), p->err_tail, first);
	d->stderr_len = n;
	close_fd(&p->in_fd);
	close_fd(&p->err_fd);
	close_fd(&p->pidfd);
	p->used = 0;
	r->running--;
}

static void pass_stderr(struct proc *p, const char *buf, size_t n)
{
	/* pass through, and keep the tail */
	ssize_t w = write(2, buf, n);

	(void)w;
	keep_stderr(p, buf, n);
}

/* Read what is left in a handler's stderr pipe, without waiting. */
static void drain_stderr(struct proc *p)
{
	char buf[4096];
	ssize_t got;

	while (p->err_fd >= 0) {
		got = read(p->err_fd, buf, sizeof(buf));
		if (got > 0)
			pass_stderr(p, buf, (size_t)got);
		else if (got < 0 && errno == EINTR)
			continue;
		else
			close_fd(&p->err_fd);
	}
}

int ev_runner_wait(struct ev_runner *r, int64_t timeout_ms, struct ev_done *d)
{
	struct pollfd pfd[3 * 64];
	struct proc *who[3 * 64];
	int64_t t0 = now_ms(), wait_ms, left;
	int i, n, k, rc;
	char buf[4096];
	ssize_t got;

	for (;;) {
		/* reap what has exited (also without a pidfd) */
		for (i = 0; i < r->max; i++) {
			struct proc *p = &r->p[i];
			if (!p->used)
				continue;
			if (!p->exited &&
			    waitpid(p->pid, &p->status, WNOHANG) == p->pid)
				p->exited = 1;
			if (p->exited) {
				/* stragglers die with it, and what it wrote
				 * to stderr before exiting is in the pipe */
				kill(-p->pid, SIGKILL);
				drain_stderr(p);
				finish(r, p, d);
				return 1;
			}
		}
		if (r->running == 0)
			return 0;
		/* timeouts: TERM the group, then KILL it after a grace */
		wait_ms = timeout_ms < 0 ? 1000 : timeout_ms - (now_ms() - t0);
		if (timeout_ms >= 0 && wait_ms <= 0)
			return 0;
		for (i = 0; i < r->max; i++) {
			struct proc *p = &r->p[i];
			int64_t now = now_ms();
			if (!p->used || p->exited)
				continue;
			if (p->deadline_ms && !p->timed_out &&
			    now >= p->deadline_ms) {
				p->timed_out = 1;
				kill(-p->pid, SIGTERM);
				p->kill_ms = now + EV_KILL_GRACE_MS;
			}
			if (p->timed_out && p->kill_ms && now >= p->kill_ms) {
				kill(-p->pid, SIGKILL);
				p->kill_ms = 0;
			}
			left = p->timed_out
				       ? (p->kill_ms ? p->kill_ms - now : 1000)
				       : (p->deadline_ms ? p->deadline_ms - now
							 : 1000);
			if (left < wait_ms)
				wait_ms = left < 1 ? 1 : left;
		}
		n = 0;
		for (i = 0;
		     i < r->max && n + 3 <= (int)(sizeof(pfd) / sizeof(pfd[0]));
		     i++) {
			struct proc *p = &r->p[i];
			if (!p->used)
				continue;
			if (p->pidfd >= 0 && !p->exited) {
				pfd[n].fd = p->pidfd;
				pfd[n].events = POLLIN;
				who[n++] = p;
			}
			if (p->in_fd >= 0) {
				pfd[n].fd = p->in_fd;
				pfd[n].events = POLLOUT;
				who[n++] = p;
			}
			if (p->err_fd >= 0) {
				pfd[n].fd = p->err_fd;
				pfd[n].events = POLLIN;
				who[n++] = p;
			}
		}
		if (wait_ms > 1000)
			wait_ms = 1000; /* without pidfds, reap at least this
					   often */
		rc = poll(pfd, (nfds_t)n, (int)wait_ms);
		if (rc < 0) {
			if (errno == EINTR)
				return 0; /* a signal: let the caller look */
			return EV_ERR;
		}
		for (k = 0; k < n; k++) {
			struct proc *p = who[k];
			if (pfd[k].revents == 0)
				continue;
			if (pfd[k].fd == p->in_fd) {
				got = write(p->in_fd, p->in + p->in_off,
					    p->in_len - p->in_off);
				if (got > 0)
					p->in_off += (size_t)got;
				if ((got < 0 && errno != EAGAIN) ||
				    p->in_off == p->in_len)
					close_fd(&p->in_fd); /* done, or it left
							      */
			} else if (pfd[k].fd == p->err_fd) {
				got = read(p->err_fd, buf, sizeof(buf));
				if (got > 0)
					pass_stderr(p, buf, (size_t)got);
				else if (got == 0 ||
					 (errno != EINTR && errno != EAGAIN))
					close_fd(&p->err_fd);
			}
		}
	}
}

void ev_runner_kill_all(struct ev_runner *r, int sig)
{
	int i;

	for (i = 0; i < r->max; i++)
		if (r->p[i].used && !r->p[i].exited)
			kill(-r->p[i].pid, sig);
}

void ev_runner_free(struct ev_runner *r)
{
	struct ev_done d;
	int i;

	if (r == NULL)
		return;
	/* nothing outlives the runner */
	for (i = 0; i < r->max; i++) {
		struct proc *p = &r->p[i];
		if (!p->used)
			continue;
		kill(-p->pid, SIGKILL);
		if (!p->exited)
			waitpid(p->pid, &p->status, 0);
		p->exited = 1;
		close_fd(&p->err_fd);
		finish(r, p, &d);
	}
	free(r->p);
	free(r);
}

/* Backoff before attempt n+1 (n >= 1): base * 2^(n-1), at most max, with
 * up to 25% random jitter either way. */
int64_t ev_backoff_ms(int n, int64_t base_ms, int64_t max_ms)
{
	int64_t d = base_ms;
	uint32_t rnd;
	int i;

	for (i = 1; i < n && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	if (d <= 0)
		return 0;
	ev_random(&rnd, sizeof(rnd));
	d = d * 3 / 4 + (int64_t)(rnd % (uint32_t)(d / 2 + 1));
	return d > max_ms ? max_ms : d;
}

/* ------------------------------------------------------------ the contract */

/* Add "NAME=value" to env; it stays NULL-terminated. */
static int env_add(char **env, int *k, const char *name, const char *fmt, ...)
	EV_PRINTF(4, 5);

static int env_add(char **env, int *k, const char *name, const char *fmt, ...)
{
	char *v, *nv;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	r = asprintf(&nv, "%s=%s", name, v);
	free(v);
	if (r < 0)
		return -1;
	env[(*k)++] = nv;
	env[*k] = NULL;
	return 0;
}

static int env_str(char **env, int *k, const char *name, const struct ev_str *s)
{
	/* ids, types and streams hold no control characters (evlog(5)),
	 * so they pass as they are, however long */
	if (s->p == NULL)
		return 0;
	return env_add(env, k, name, "%.*s", (int)s->n, s->p);
}

int ev_handler_env(char **env, const struct ev_handler_vars *v,
		   struct ev_error *err)
{
	int k = 0;

	env[0] = NULL;
	if (env_add(env, &k, "EV_OFFSET", "%llu",
		    (unsigned long long)v->offset) != 0 ||
	    env_add(env, &k, "EV_ATTEMPT", "%llu",
		    (unsigned long long)v->attempt) != 0)
		goto oom;
	if (v->batch && (env_add(env, &k, "EV_COUNT", "%u", v->count) != 0 ||
			 env_add(env, &k, "EV_LAST_OFFSET", "%llu",
				 (unsigned long long)v->last_offset) != 0))
		goto oom;
	if (env_str(env, &k, "EV_ID", &v->id) != 0 ||
	    env_str(env, &k, "EV_TYPE", &v->type) != 0 ||
	    env_str(env, &k, "EV_STREAM", &v->stream) != 0)
		goto oom;
	if (v->has_dlq_offset &&
	    env_add(env, &k, "EV_DLQ_OFFSET", "%llu",
		    (unsigned long long)v->dlq_offset) != 0)
		goto oom;
	if (v->has_partition &&
	    env_add(env, &k, "EV_PARTITION", "%d", (int)v->partition) != 0)
		goto oom;
	return 0;
oom:
	ev_handler_env_free(env);
	return ev_seterr(err, EV_ERR, "out of memory");
}

void ev_handler_env_free(char **env)
{
	int i;

	for (i = 0; env[i] != NULL; i++) {
		free(env[i]);
		env[i] = NULL;
	}
}

int ev_handler_input(struct ev_buf *in, const uint8_t *rec, size_t n,
		     uint64_t offset, struct ev_error *err)
{
	int r = ev_record_to_json(rec, n, offset, in, err);

	if (r == 0 && ev_buf_putc(in, '\n') != 0)
		r = ev_seterr(err, EV_ERR, "out of memory");
	return r;
}

int ev_handler_input_kafka(struct ev_buf *in, const uint8_t *rec, size_t n,
			   int32_t partition, int64_t offset,
			   struct ev_error *err)
{
	size_t mark = in->len;
	char tmp[32];
	int r = ev_record_to_json(rec, n, (uint64_t)offset, in, err), k;

	if (r != 0)
		return r;
	if (in->len - mark >= 2 && in->p[mark] == '{') {
		k = snprintf(tmp, sizeof(tmp), "\"partition\":%d,",
			     (int)partition);
		if (ev_buf_reserve(in, (size_t)k) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		memmove(in->p + mark + 1 + k, in->p + mark + 1,
			in->len - mark - 1);
		memcpy(in->p + mark + 1, tmp, (size_t)k);
		in->len += (size_t)k;
	}
	if (ev_buf_putc(in, '\n') != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	return 0;
}

/* ------------------------------------------------------------ as ops */

static int op_start(void *ctx, const char *cmd, const uint8_t *in,
		    size_t in_len, char *const *env, int64_t timeout_ms,
		    void *tag, struct ev_error *err)
{
	return ev_runner_start(ctx, cmd, in, in_len, env, timeout_ms, tag, err);
}

static int op_wait(void *ctx, int64_t timeout_ms, struct ev_done *d)
{
	return ev_runner_wait(ctx, timeout_ms, d);
}

static int op_running(void *ctx)
{
	return ev_runner_running(ctx);
}

static int op_free_slots(void *ctx)
{
	return ev_runner_free_slots(ctx);
}

static void op_kill_all(void *ctx, int sig)
{
	ev_runner_kill_all(ctx, sig);
}

const struct ev_handler_ops ev_runner_ops = {
	op_start, op_wait, op_running, op_free_slots, op_kill_all,
};
