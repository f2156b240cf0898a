/*
 * evtail_i.c - evtail -i: the readline glue around the session of
 * lib/isession.c (evtail(1) INTERACTIVE SESSION): the prompt, completion,
 * the history file, Ctrl-C and the screen size.  Without a terminal the
 * commands come from stdin, one a line, with no prompt and no colour.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "evlog.h"
#include "evtail_i.h"
#include "fe.h"
#include "feselect.h"

#define HISTORY_LINES 1000

/*
 * readline is loaded (dlopen) for a session in a terminal only: linked
 * in, its relocations and libtinfo's cost every evtail run, a third of
 * 'evtail -n 1'.  Its header gives the types; a macro below turns each
 * name into the address or variable found in the library.
 */
#define STR_(x) #x
#define STR(x) STR_(x)
#define RL_SONAME "libreadline.so." STR(RL_VERSION_MAJOR)
#define RL_SYMS(X)                            \
	X(add_history)                        \
	X(append_history)                     \
	X(history_truncate_file)              \
	X(read_history)                       \
	X(rl_attempted_completion_function)   \
	X(rl_attempted_completion_over)       \
	X(rl_basic_word_break_characters)     \
	X(rl_callback_handler_install)        \
	X(rl_callback_handler_remove)         \
	X(rl_callback_read_char)              \
	X(rl_catch_signals)                   \
	X(rl_catch_sigwinch)                  \
	X(rl_completer_word_break_characters) \
	X(rl_crlf)                            \
	X(rl_free_line_state)                 \
	X(rl_line_buffer)                     \
	X(rl_on_new_line)                     \
	X(rl_readline_name)                   \
	X(rl_redisplay)                       \
	X(rl_replace_line)                    \
	X(rl_resize_terminal)                 \
	X(using_history)
#define RL_SLOT(s) __typeof__(s) *s;
static struct {
	RL_SYMS(RL_SLOT)
} rl;

/* 0, or -1 with why (EVLOG_LIBREADLINE names another file to load) */
static int rl_load(char *why, size_t n)
{
	const char *env = secure_getenv("EVLOG_LIBREADLINE");
	const char *file = RL_SONAME, *e;
	char from[300] = "";
	void *h, *f;

	if (env != NULL && env[0] != '\0') {
		file = env;
		snprintf(from, sizeof(from),
			 " from '%.200s' (EVLOG_LIBREADLINE)", file);
	}
	if ((h = dlopen(file, RTLD_LAZY | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		if (e != NULL && strncmp(e, file, strlen(file)) == 0 &&
		    strncmp(e + strlen(file), ": ", 2) == 0)
			e += strlen(file) + 2;
		snprintf(why, n, "cannot load %s%s: %s", RL_SONAME, from,
			 e != NULL ? e : "unknown error");
		return -1;
	}
#define RL_SYM(s)                                                    \
	if ((f = dlsym(h, #s)) == NULL) {                            \
		snprintf(why, n, "cannot load %s%s: it has no '%s'", \
			 RL_SONAME, from, #s);                       \
		dlclose(h);                                          \
		return -1;                                           \
	}                                                            \
	memcpy(&rl.s, &f, sizeof(f));
	RL_SYMS(RL_SYM)
	return 0;
}

/* from here on, each name is the library's */
#define add_history(...) rl.add_history(__VA_ARGS__)
#define append_history(...) rl.append_history(__VA_ARGS__)
#define history_truncate_file(...) rl.history_truncate_file(__VA_ARGS__)
#define read_history(...) rl.read_history(__VA_ARGS__)
#define rl_attempted_completion_function (*rl.rl_attempted_completion_function)
#define rl_attempted_completion_over (*rl.rl_attempted_completion_over)
#define rl_basic_word_break_characters (*rl.rl_basic_word_break_characters)
#define rl_callback_handler_install(...) \
	rl.rl_callback_handler_install(__VA_ARGS__)
#define rl_callback_handler_remove(...) \
	rl.rl_callback_handler_remove(__VA_ARGS__)
#define rl_callback_read_char(...) rl.rl_callback_read_char(__VA_ARGS__)
#define rl_catch_signals (*rl.rl_catch_signals)
#define rl_catch_sigwinch (*rl.rl_catch_sigwinch)
#define rl_completer_word_break_characters \
	(*rl.rl_completer_word_break_characters)
#define rl_crlf(...) rl.rl_crlf(__VA_ARGS__)
#define rl_free_line_state(...) rl.rl_free_line_state(__VA_ARGS__)
#define rl_line_buffer (*rl.rl_line_buffer)
#define rl_on_new_line(...) rl.rl_on_new_line(__VA_ARGS__)
#define rl_readline_name (*rl.rl_readline_name)
#define rl_redisplay(...) rl.rl_redisplay(__VA_ARGS__)
#define rl_replace_line(...) rl.rl_replace_line(__VA_ARGS__)
#define rl_resize_terminal(...) rl.rl_resize_terminal(__VA_ARGS__)
#define using_history(...) rl.using_history(__VA_ARGS__)

static volatile sig_atomic_t stop, winch;
static struct ev_isession *sess;
static char *line_got;
static int line_done, line_eof;
static int64_t cmd_started;
static int progress_shown;

static void on_int(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "find: 42% (Ctrl-C stops)" on stderr, once a command takes a while */
static void progress(void *ctx, const char *what, uint64_t done, uint64_t total)
{
	(void)ctx;
	if (total == 0 || now_ms() - cmd_started < 200)
		return;
	fprintf(stderr, "\r\033[K%s: %d%% (Ctrl-C stops)", what,
		(int)(done * 100 / total));
	fflush(stderr);
	progress_shown = 1;
}

static void screen_size(int *rows, int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
	    ws.ws_col > 0) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

/* $XDG_STATE_HOME/evlog/history, or ~/.local/state/evlog/history, its
 * directories made; NULL when there is no place for it. */
static char *history_path(void)
{
	const char *base = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char dir[4096], *path;
	size_t i;
	int fd;

	if (base != NULL && base[0] == '/')
		snprintf(dir, sizeof(dir), "%s/evlog", base);
	else if (home != NULL && home[0] != '\0')
		snprintf(dir, sizeof(dir), "%s/.local/state/evlog", home);
	else
		return NULL;
	for (i = 1; dir[i] != '\0'; i++)
		if (dir[i] == '/') {
			dir[i] = '\0';
			(void)mkdir(dir, 0700);
			dir[i] = '/';
		}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return NULL;
	if (asprintf(&path, "%s/history", dir) < 0)
		return NULL;
	/* append_history() only appends to a file that exists */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

/* readline's completion: the session's candidates, or file names. */
static char **complete(const char *text, int start, int end)
{
	char *line, **v, **m;
	size_t n, i, k;
	int r;

	(void)text;
	rl_attempted_completion_over = 1;
	if ((line = strndup(rl_line_buffer, (size_t)end)) == NULL)
		return NULL;
	r = ev_isession_complete(sess, line, (size_t)start, &v, &n);
	free(line);
	if (r == EV_ISESSION_FILES) {
		rl_attempted_completion_over = 0;
		return NULL;
	}
	if (r < 0 || n == 0) {
		ev_isession_complete_free(v);
		return NULL;
	}
	/* [0] is what replaces the word: the candidates' common prefix */
	if ((m = malloc((n + 2) * sizeof(*m))) == NULL) {
		ev_isession_complete_free(v);
		return NULL;
	}
	for (k = strlen(v[0]), i = 1; i < n; i++)
		while (k > 0 && strncmp(v[0], v[i], k) != 0)
			k--;
	m[0] = strndup(v[0], k);
	for (i = 0; i < n; i++)
		m[i + 1] = v[i];
	m[n + 1] = NULL;
	free(v);
	if (m[0] == NULL) {
		ev_isession_complete_free(m + 1);
		free(m);
		return NULL;
	}
	if (n == 1) { /* one: it replaces the word, and a space follows */
		free(m[0]);
		m[0] = m[1];
		m[1] = NULL;
	}
	return m;
}

static void got_line(char *line)
{
	line_got = line;
	line_eof = line == NULL;
	line_done = 1;
	rl_callback_handler_remove();
}

/* One line from the terminal: Ctrl-C empties the line and asks again.
 * NULL at Ctrl-D. */
static char *read_line(const char *prompt)
{
	fd_set fds;
	int r, rows, cols;

	line_done = 0;
	line_got = NULL;
	rl_callback_handler_install(prompt, got_line);
	while (!line_done) {
		FD_ZERO(&fds);
		FD_SET(STDIN_FILENO, &fds);
		r = select(STDIN_FILENO + 1, &fds, NULL, NULL, NULL);
		if (winch) {
			winch = 0;
			rl_resize_terminal();
			screen_size(&rows, &cols);
			ev_isession_set_size(sess, rows, cols);
		}
		if (r < 0) {
			if (errno != EINTR)
				break;
			if (stop) {
				stop = 0;
				rl_free_line_state();
				rl_replace_line("", 0);
				rl_crlf();
				rl_on_new_line();
				rl_redisplay();
			}
			continue;
		}
		rl_callback_read_char();
	}
	if (!line_done)
		rl_callback_handler_remove();
	return line_eof ? NULL : line_got;
}

static void report(int r, const struct ev_error *err, int *failed)
{
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		progress_shown = 0;
	}
	if (r < 0) {
		fflush(stdout);
		fe_warn("%s", err->msg);
		*failed = 1;
	}
}

static int run_terminal(void)
{
	struct ev_error err;
	char *line, *hist = history_path(), *last = NULL;
	int r, failed = 0;

	rl_readline_name = "evtail";
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_attempted_completion_function = complete;
	rl_basic_word_break_characters = " \t";
	rl_completer_word_break_characters = " \t";
	using_history();
	if (hist != NULL)
		read_history(hist);
	cmd_started = now_ms();
	r = ev_isession_screen(sess, stdout, &err);
	report(r, &err, &failed);
	while ((line = read_line(ev_isession_prompt(sess))) != NULL) {
		if (line[0] != '\0' && (last == NULL || strcmp(last, line))) {
			add_history(line);
			if (hist != NULL)
				append_history(1, hist);
			free(last);
			last = strdup(line);
		}
		stop = 0;
		cmd_started = now_ms();
		r = ev_isession_run(sess, line, stdout, &err);
		if (stop) /* the ^C the terminal echoed, on a line of its own */
			fputs("\r\033[K", stdout);
		fflush(stdout);
		free(line);
		report(r, &err, &failed);
		stop = 0;
		if (r == EV_ISESSION_QUIT)
			break;
	}
	if (line == NULL)
		putchar('\n');
	if (hist != NULL)
		history_truncate_file(hist, HISTORY_LINES);
	free(hist);
	free(last);
	return EV_EXIT_OK;
}

/*
 * A script's next line is there (or its end is not: a script whose last
 * command is follow follows until Ctrl-C, as evtail -f does).  stdin is
 * unbuffered in a script, so what poll sees is all there is.
 */
static int next_waiting(void *ctx)
{
	static int at_end;
	struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
	int c;

	(void)ctx;
	if (at_end || poll(&pfd, 1, 0) != 1)
		return 0;
	if ((c = getc(stdin)) == EOF) {
		at_end = 1;
		clearerr(stdin); /* the loop's getline sees the end again */
		return 0;
	}
	ungetc(c, stdin);
	return 1;
}

static int run_stdin(void)
{
	struct ev_error err;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int r, failed = 0;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		if (strlen(line) != (size_t)n) {
			/* it would run as the part before the NUL */
			fe_warn("a command holds a NUL byte: '%s'", line);
			failed = 1;
			continue;
		}
		stop = 0;
		cmd_started = now_ms();
		r = ev_isession_run(sess, line, stdout, &err);
		fflush(stdout);
		report(r, &err, &failed);
		if (r == EV_ISESSION_QUIT)
			break;
	}
	free(line);
	return failed ? EV_EXIT_FAILURE : EV_EXIT_OK;
}

int evtail_interactive(const char *logpath, const char *color,
		       const char *usage)
{
	struct ev_isession_opts so;
	struct fe_input in;
	struct ev_error err;
	struct sigaction sa;
	char why[600];
	int term = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO), rc;

	/* before the log is opened: a terminal needs readline */
	if (term && rl_load(why, sizeof(why)) != 0) {
		fe_warn("-i: %s", why);
		return EV_EXIT_UNAVAILABLE;
	}
	memset(&in, 0, sizeof(in));
	in.path = logpath;
	if ((rc = fe_input_open(&in, usage)) != 0)
		return rc;
	memset(&so, 0, sizeof(so));
	so.name = logpath;
	so.color = term ? fe_color(color, stdout)
			: color != NULL && strcmp(color, "always") == 0;
	if (term)
		screen_size(&so.rows, &so.cols);
	so.stop = &stop;
	so.progress = isatty(STDERR_FILENO) ? progress : NULL;
	if (!term) {
		/* a script: follow ends at its next line, which poll() can
		 * see only if stdio has not read it ahead */
		setvbuf(stdin, NULL, _IONBF, 0);
		so.next_waiting = next_waiting;
	}
	if ((rc = ev_isession_new(&sess, in.log, in.rd, &so, &err)) != 0) {
		rc = fe_report(&err);
		goto out;
	}
	/* Ctrl-C ends a long command, not the session */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_int;
	sa.sa_flags = term ? 0 : SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	if (term) {
		sa.sa_handler = on_winch;
		sigaction(SIGWINCH, &sa, NULL);
	}
	rc = term ? run_terminal() : run_stdin();
out:
	ev_isession_free(sess);
	sess = NULL;
	fe_input_close(&in);
	return rc;
}
