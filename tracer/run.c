/*
 * weft run: launches the program with the preload library, collects its
 * whole process tree until it is gone, and finalizes the trace.
 */
#include "tracer/cli.h"
#include "tracer/collect.h"
#include "tracer/findings_cli.h"
#include "store/store_debug.h"
#include "store/store_viewcache.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t forward_sig;
static volatile pid_t child_pid;
/* The program is over and the trace's tail is being written: signals stop it. */
static volatile sig_atomic_t finishing, finishing_sig;
static struct store_writer *volatile finishing_store;
static struct store_view_builder *volatile finishing_view;
static volatile sig_atomic_t progress_tty; /* a progress line may be on stderr */

/*
 * Signals someone sent weft itself go on to the program. Signals from the
 * terminal (si_code SI_KERNEL) already reached the program, which shares
 * our process group, so they are not sent twice.
 */
static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	/*
	 * During the tail (also from the terminal: the program is gone) the
	 * first SIGINT/SIGTERM stops it with everything written so far kept,
	 * the second ends weft at once: the trace is still valid (WAL), only
	 * what was not committed is missing. A hangup (the terminal went away)
	 * lets the tail finish: nobody asked for less.
	 */
	if (finishing && (sig == SIGINT || sig == SIGTERM)) {
		static const char first[] = "weft: stopping; the trace keeps what is written so far"
					    " (again to quit at once)\n";
		static const char second[] = "weft: stopped\n";
		if (progress_tty)
			(void)!write(2, "\r\033[K", 4);
		if (finishing++ == 1) {
			(void)!write(2, first, sizeof(first) - 1);
			finishing_sig = sig;
			store_writer_interrupt(finishing_store);
			store_view_builder_interrupt(finishing_view);
			return;
		}
		(void)!write(2, second, sizeof(second) - 1);
		_exit(128 + sig);
	}
	if (si && si->si_code == SI_KERNEL)
		return;
	if (child_pid > 0)
		kill(child_pid, sig);
	forward_sig = sig;
}

/* ---- the progress line of the tail (after the program ended) ---- */

struct progress {
	struct collect *c;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
};

static double mono_now(void)
{
	return weft_mono_ns() / 1e9;
}

/*
 * Redraws one line on stderr every 250 ms once the tail has taken a
 * second: the writer's share of the drained ring words as a bar, the
 * events written (and the total they project to), the rate, the time
 * left; then what finalize is doing. Cleared at the end.
 */
static void *progress_main(void *arg)
{
	struct progress *p = arg;
	double t0 = mono_now(), tw = 0;
	uint64_t w0 = 0;
	int shown = 0;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&p->cond, &p->lock, &until);
		if (p->stop)
			break;
		double now = mono_now();
		uint64_t done, total, events;
		writer_progress(p->c, &done, &total, &events);
		if (!tw) {
			tw = now;
			w0 = done;
		}
		if (now - t0 < 1.0)
			continue;
		char line[160];
		if (done < total) {
			double frac = (double)done / (double)total;
			double rate = now > tw ? (double)(done - w0) / (now - tw) : 0;
			double ev_rate = done ? rate * (double)events / (double)done : 0;
			char bar[21];
			int fill = (int)(frac * 20);
			for (int i = 0; i < 20; i++)
				bar[i] = i < fill ? '#' : '.';
			bar[20] = 0;
			int left = rate > 0 ? (int)((double)(total - done) / rate + 0.5) : -1;
			char lefts[32] = "?";
			if (left >= 0)
				snprintf(lefts, sizeof(lefts), "%d:%02d", left / 60, left % 60);
			snprintf(
			    line, sizeof(line),
			    "weft: writing the trace [%s] %.1fM of ~%.1fM events, %.2fM/s, %s left",
			    bar, events / 1e6, done ? events / frac / 1e6 : 0.0, ev_rate / 1e6,
			    lefts);
		} else {
			snprintf(line, sizeof(line),
				 "weft: finalizing the trace: %.1fM events, ordering and indexing "
				 "(%.0f s)",
				 events / 1e6, now - t0);
		}
		fprintf(stderr, "\r%s\033[K", line);
		shown = 1;
	}
	pthread_mutex_unlock(&p->lock);
	if (shown)
		fprintf(stderr, "\r\033[K");
	return NULL;
}

/* Only for a terminal: a log file would get every redraw. */
static int progress_start(struct progress *p, struct collect *c)
{
	memset(p, 0, sizeof(*p));
	p->c = c;
	if (!isatty(2) || getenv("WEFT_NO_PROGRESS"))
		return 0;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (pthread_create(&p->thread, NULL, progress_main, p) != 0)
		return 0;
	progress_tty = 1;
	return 1;
}

static void progress_stop(struct progress *p, int started)
{
	if (!started)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
}

/* Finds cmd on PATH the way a shell does. Returns 0, 126 or 127 (shell statuses). */
static int resolve_command(const char *cmd, char *out, size_t outlen)
{
	if (strchr(cmd, '/')) {
		snprintf(out, outlen, "%s", cmd);
		if (access(out, F_OK) != 0)
			return 127;
		struct stat sb;
		if (stat(out, &sb) == 0 && S_ISDIR(sb.st_mode))
			return 126;
		return access(out, X_OK) == 0 ? 0 : 126;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	int found_noexec = 0;
	while (*path) {
		size_t seg = strcspn(path, ":");
		snprintf(out, outlen, "%.*s%s%s", (int)seg, seg ? path : ".", "/", cmd);
		struct stat sb;
		if (stat(out, &sb) == 0 && S_ISREG(sb.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			found_noexec = 1;
		}
		path += seg;
		if (*path == ':')
			path++;
	}
	return found_noexec ? 126 : 127;
}

/* Warns when LD_PRELOAD cannot work on the program: static or setuid/setgid. */
static void check_preloadable(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) == 0 && (sb.st_mode & (S_ISUID | S_ISGID)) && geteuid() != 0)
		weft_warn("%s is setuid/setgid: the dynamic loader ignores LD_PRELOAD for it, so "
			  "it will not be traced (its children may be)",
			  path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	Elf64_Ehdr eh;
	if (read(fd, &eh, sizeof(eh)) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64) {
		close(fd); /* a script: its interpreter is what gets traced */
		return;
	}
	int has_interp = 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph),
			  (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) != sizeof(ph))
			break;
		if (ph.p_type == PT_INTERP)
			has_interp = 1;
	}
	close(fd);
	if (!has_interp)
		weft_warn("%s is statically linked: LD_PRELOAD cannot trace it, so the trace will "
			  "only show its process, not its locks or threads",
			  path);
}

/* The preload library sits at ../lib/weft/libweft.so relative to this binary. */
static int find_preload(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	const char *env = getenv("WEFT_PRELOAD_LIB");
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return access(out, R_OK);
	}
	snprintf(out, len, "%s/../lib/weft/libweft.so", dirname(exe));
	char real[PATH_MAX];
	if (!realpath(out, real))
		return -1;
	snprintf(out, len, "%s", real);
	return 0;
}

static void shell_quote_join(char **argv, char *out, size_t len)
{
	size_t o = 0;
	out[0] = 0;
	for (int i = 0; argv[i] && o + 4 < len; i++) {
		const char *a = argv[i];
		int plain = *a != 0;
		for (const char *p = a; *p; p++)
			if (!(strchr("-_./=:,+@%", *p) || (*p >= '0' && *p <= '9') ||
			      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
				plain = 0;
		if (i)
			out[o++] = ' ';
		if (plain) {
			o += (size_t)snprintf(out + o, len - o, "%s", a);
		} else {
			out[o++] = '\'';
			for (const char *p = a; *p && o + 6 < len; p++) {
				if (*p == '\'') {
					memcpy(out + o, "'\\''", 4);
					o += 4;
				} else {
					out[o++] = *p;
				}
			}
			out[o++] = '\'';
		}
		if (o >= len)
			o = len - 1;
		out[o] = 0;
	}
}

static int parse_stacks(const char *v)
{
	if (!strcmp(v, "none"))
		return WEFT_STACKS_NONE;
	if (!strcmp(v, "caller"))
		return WEFT_STACKS_CALLER;
	if (!strcmp(v, "full"))
		return WEFT_STACKS_FULL;
	return -1;
}

static void setenv_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char buf[8192];
	if (old && *old)
		snprintf(buf, sizeof(buf), "%s:%s", lib, old);
	else
		snprintf(buf, sizeof(buf), "%s", lib);
	setenv("LD_PRELOAD", buf, 1);
}

static void write_meta(struct store_writer *w, char **cmd, const char *stacks, int use_tsc,
		       uint64_t mono0)
{
	char buf[8192];
	store_writer_meta(w, "weft_version", WEFT_VERSION);
	shell_quote_join(cmd, buf, sizeof(buf));
	store_writer_meta(w, "command", buf);
	if (gethostname(buf, 256) == 0) {
		buf[255] = 0;
		store_writer_meta(w, "host", buf);
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, sizeof(buf), "%lld", (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec);
	store_writer_meta(w, "start_unix_ns", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)mono0);
	store_writer_meta(w, "start_mono_ns", buf);
	store_writer_meta(w, "stacks", stacks);
	store_writer_meta(w, "clock", use_tsc ? "tsc" : "monotonic");
	store_writer_meta(w, "events_lost", "0");
	store_writer_commit(w);
}

static int status_to_exit(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

/*
 * Signals the traced tree: weft's own child (while unreaped), and every
 * process the collector verified as a descendant, through pidfds, so no
 * pid that a stranger reused is ever signalled. SIGKILLs are recorded.
 */
static void stop_tree(struct collect *c, int child_pidfd, int child_done, int sig)
{
	int sent = !child_done && child_pidfd >= 0 &&
		   syscall(SYS_pidfd_send_signal, child_pidfd, sig, NULL, 0) == 0;
	/* No pidfds (old kernels, valgrind): our unreaped child's pid is still its own. */
	if (!sent && !child_done && (child_pidfd < 0 || errno == ENOSYS) && child_pid > 0)
		sent = kill(child_pid, sig) == 0;
	if (sent && sig == SIGKILL)
		collect_killed(c, child_pid);
	collect_signal_tree(c, sig, sig == SIGKILL);
}

/* One `weft run`: what it was asked, what it set up, how the program is doing. */
struct run_session {
	const struct weft_run_options *o;
	struct collect *c;
	struct store_writer *w;
	char path[PATH_MAX]; /* the program's executable */
	char lib[PATH_MAX];  /* libweft.so */
	char dir[PATH_MAX];  /* the trace's directory */
	char sockname[108];
	pid_t pid;
	int child_pidfd;
	int child_status, child_done;
	/* the supervision */
	int no_children, deadlock_seen, writer_urgent;
	uint64_t t_start, term_sent_at, quiet_since, last_data;
	uint64_t dbg_poll, dbg_drain, dbg_iter;
	/* the viewer's tables, built as the trace is written; or NULL */
	struct store_view_builder *view;
	cpu_set_t cpus;	      /* weft's CPUs before keep_to_one_cpu(), for the tail */
	int64_t moved_at_end; /* store_writer_take_moved() after the order */
	/* the trace's findings, in all and per kind (findings_count) */
	int findings_total;
	char findings_kinds[256];
	int pinned;
};

/*
 * The collector (this thread) and the writer share one CPU, the last the
 * program may use; the program itself keeps every CPU (it was forked
 * before this). Otherwise the collector's wake-ups, every millisecond,
 * land on whatever CPU is free at the moment, and the program's threads
 * keep being moved between CPUs to make room: 1M Python `with lock:`
 * blocks took 254 ms unpinned against 238 ms pinned (148 untraced). On
 * one CPU there is nothing to choose.
 */
static void keep_to_one_cpu(struct run_session *s)
{
	cpu_set_t *all = &s->cpus, one;
	if (sched_getaffinity(0, sizeof(*all), all) != 0 || CPU_COUNT(all) < 2)
		return;
	int last = -1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, all))
			last = i;
	CPU_ZERO(&one);
	CPU_SET(last, &one);
	pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
	pthread_setaffinity_np(s->c->writer, sizeof(one), &one);
	s->pinned = 1;
}

/*
 * The viewer's tables are built while the program runs from CPU time the
 * program leaves, on any CPU: at idle priority, like the writer, and not
 * kept to the collector's CPU. At normal priority there it took that CPU
 * from the program's threads and from the writer (whose rows it follows),
 * while a program held back by the GIL left the other CPU idle. OpenSSL
 * burst (bench/py/ssl_burst.py, Debian 3.11, three alternating runs):
 * weft run 3.28-3.70 s -> 2.82-3.32 s, the program's own lifetime
 * 363-412 -> 326-334 ms; lockbench's tail and the in-program time of
 * with_lock.py and queue_pc.py on 3.14 the same or less. A program that
 * keeps every CPU busy starves the writer too, so the builder, which only
 * follows it, loses nothing it could have done. idle 0: normal priority
 * again, for the tail (release_cpus).
 */
static void set_builder_idle(struct run_session *s, int idle)
{
	if (!s->view)
		return;
	pthread_t builder = store_view_builder_thread(s->view);
	struct sched_param sp = {0};
	pthread_setschedparam(builder, idle ? SCHED_IDLE : SCHED_OTHER, &sp);
	if (idle && s->pinned)
		pthread_setaffinity_np(builder, sizeof(s->cpus), &s->cpus);
}

/*
 * Once the program is gone its CPUs are weft's again: the writer's
 * backlog, the viewer's tables and the findings run side by side, not on
 * the one CPU the collector had; the writer and the builder at normal
 * priority again (best effort: an unprivileged thread may be refused by
 * RLIMIT_NICE, and then stays at idle priority, which no longer competes
 * with the program).
 */
static void release_cpus(struct run_session *s)
{
	/* Nothing of the program's is left to yield to: the backlog is the tail. */
	if (!s->writer_urgent)
		writer_set_urgent(s->c, s->writer_urgent = 1);
	set_builder_idle(s, 0);
	if (!s->pinned)
		return;
	pthread_setaffinity_np(pthread_self(), sizeof(s->cpus), &s->cpus);
	pthread_setaffinity_np(s->c->writer, sizeof(s->cpus), &s->cpus);
	s->pinned = 0;
}

/*
 * Everything that can fail before the program starts: the command, the
 * preload library, the trace file, the collector. On success 0, otherwise
 * the exit status, the error reported.
 */
static int run_prepare(struct run_session *s)
{
	const struct weft_run_options *o = s->o;
	int rc = resolve_command(o->cmd[0], s->path, sizeof(s->path));
	if (rc == 127) {
		weft_error("%s: command not found", o->cmd[0]);
		return 127;
	}
	if (rc == 126) {
		weft_error("%s: permission denied (not an executable file)", o->cmd[0]);
		return 126;
	}
	check_preloadable(s->path);

	if (find_preload(s->lib, sizeof(s->lib)) != 0) {
		weft_error("cannot find the preload library libweft.so next to this weft (%s)",
			   s->lib);
		return 1;
	}

	/* Fail before the program starts when the trace cannot be written. */
	char dirbuf[PATH_MAX];
	snprintf(dirbuf, sizeof(dirbuf), "%s", o->out);
	snprintf(s->dir, sizeof(s->dir), "%s", dirname(dirbuf));
	if (access(s->dir, W_OK | X_OK) != 0) {
		weft_error("cannot write the trace into %s: %s", s->dir, strerror(errno));
		return 1;
	}
	char err[512];
	s->w = store_writer_open(o->out, err, sizeof(err));
	if (!s->w) {
		weft_error("%s", err);
		return 1;
	}

	static struct collect c;
	s->c = &c;
	if (collect_init(&c, s->w, s->sockname, sizeof(s->sockname)) != 0 ||
	    writer_start(&c) != 0) {
		collect_remove_socket(&c);
		store_writer_close(s->w);
		return 1;
	}
	collect_spill_open(&c, s->dir);
	c.stacks = parse_stacks(o->stacks);
	write_meta(s->w, o->cmd, o->stacks, c.use_tsc, c.start_mono_ns);
	const char *races = o->races_scope[0] ? o->races_scope : "program";
	store_writer_meta(s->w, "races", o->races ? races : "off");
	return 0;
}

/* In the child: the environment the preload library reads, then the program. */
static void __attribute__((noreturn)) exec_program(struct run_session *s, const char *collector)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	setrlimit(RLIMIT_NOFILE, &s->c->nofile);
	setenv_preload(s->lib);
	setenv(WEFT_ENV_SOCK, s->sockname, 1);
	setenv(WEFT_ENV_STACKS, s->o->stacks, 1);
	setenv(WEFT_ENV_COLLECTOR, collector, 1);
	setenv(WEFT_ENV_LIB, s->lib, 1);
	if (s->o->races)
		setenv("WEFT_RACES", s->o->races_scope, 1);
	else
		unsetenv("WEFT_RACES");
	setenv("WEFT_CLOCK", s->c->use_tsc ? "tsc" : "monotonic", 1);
	execv(s->path, s->o->cmd);
	int e = errno;
	weft_error("%s: %s", s->o->cmd[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

/* Starts the program under the preload library. On success 0, otherwise -1 (reported). */
static int run_launch(struct run_session *s)
{
	/* Orphans of the program are reparented to us, so none escapes the trace. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	struct sigaction sa = {0};
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	char pidbuf[32];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
	s->pid = fork();
	if (s->pid < 0) {
		weft_error("fork: %s", strerror(errno));
		collect_remove_socket(s->c);
		store_writer_close(s->w);
		return -1;
	}
	if (s->pid == 0)
		exec_program(s, pidbuf);
	child_pid = s->pid;
	/* Our unreaped child: its pid cannot be reused until we wait for it. */
	s->child_pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
	keep_to_one_cpu(s);
	/* Beside the writer from the start: the viewer's tables follow the trace. */
	s->view = store_view_builder_start(s->o->out, s->w);
	set_builder_idle(s, 1);
	return 0;
}

/* Reaps every exited process of the tree; notes whether any is left. */
static void reap_children(struct run_session *s)
{
	for (;;) {
		int st;
		pid_t r = waitpid(-1, &st, WNOHANG);
		if (r > 0) {
			collect_reaped(s->c, r, st);
			if (r == s->pid) {
				s->child_status = st;
				s->child_done = 1;
				child_pid = 0;
			}
			continue;
		}
		s->no_children = r < 0 && errno == ECHILD;
		return;
	}
}

/* Whether the program's whole tree is over and nothing more can come. */
static int tree_is_over(struct run_session *s, uint64_t now)
{
	if (!s->child_done || !s->no_children)
		return 0;
	if (collect_live_images(s->c) == 0)
		return 1;
	/* Connections outliving every process cannot produce more events. */
	if (!s->quiet_since) {
		s->quiet_since = now;
		return 0;
	}
	if (now - s->quiet_since <= 2000000000ull)
		return 0;
	if (store_debug_on("collect"))
		collect_debug_live(s->c);
	return 1;
}

/*
 * Stopping the program: the first reason (timeout, deadlock) sends
 * SIGTERM; two seconds later, SIGTERM not having been enough (handled,
 * ignored, or a thread holds it up), SIGKILL, again every turn until the
 * tree is gone.
 */
static void stop_program(struct run_session *s, uint64_t now, int asked)
{
	if (asked && !s->term_sent_at) {
		s->term_sent_at = now;
		stop_tree(s->c, s->child_pidfd, s->child_done, SIGTERM);
	} else if (s->term_sent_at && now - s->term_sent_at > 2000000000ull) {
		stop_tree(s->c, s->child_pidfd, s->child_done, SIGKILL);
	}
}

/*
 * A deadlock the collector found: said once. Returns whether it stops the
 * program (unless told to wait, or already stopping for another reason).
 */
static int deadlock_stops_program(struct run_session *s, int stopping)
{
	if (s->deadlock_seen || !__atomic_load_n(&s->c->deadlock_found, __ATOMIC_ACQUIRE))
		return 0;
	s->deadlock_seen = 1;
	pthread_mutex_lock(&s->c->lock);
	weft_error("%s", s->c->deadlock_summary);
	pthread_mutex_unlock(&s->c->lock);
	if (!s->o->deadlock_stop || stopping || s->term_sent_at)
		return 0;
	weft_warn("stopping the deadlocked program (--on-deadlock=wait keeps it waiting)");
	return 1;
}

/* Busy rings are drained again at once; idle ones every few ms. Returns the words drained. */
static size_t drain_once(struct run_session *s, size_t got_before)
{
	uint64_t d0 = weft_mono_ns();
	collect_poll(s->c, got_before > 100000 ? 0 : 1);
	uint64_t d1 = weft_mono_ns();
	size_t got = collect_drain(s->c);
	s->dbg_poll += d1 - d0;
	s->dbg_drain += weft_mono_ns() - d1;
	s->dbg_iter++;
	if (got) {
		s->last_data = weft_mono_ns();
		if (s->writer_urgent)
			writer_set_urgent(s->c, s->writer_urgent = 0);
	} else if (!s->writer_urgent && weft_mono_ns() - s->last_data > 500000000ull) {
		writer_set_urgent(s->c, s->writer_urgent = 1);
	}
	return got;
}

/* Collects until the program's whole tree is gone (or the writer failed). */
static void run_supervise(struct run_session *s)
{
	size_t got = 0;
	s->t_start = s->last_data = weft_mono_ns();
	for (;;) {
		got = drain_once(s, got);
		reap_children(s);
		uint64_t now = weft_mono_ns();
		if (tree_is_over(s, now))
			break;
		int timed_out = s->o->timeout > 0 && !s->term_sent_at &&
				now - s->t_start > (uint64_t)(s->o->timeout * 1e9);
		if (timed_out)
			weft_warn("--timeout reached: stopping the program");
		int deadlocked = deadlock_stops_program(s, timed_out);
		stop_program(s, now, timed_out || deadlocked);
		if (s->c->writer_failed)
			break;
	}
	store_debug("collect",
		    "loop %llu iterations, poll %.1f ms, drain %.1f ms, %llu words, %llu "
		    "spilled in %.1f ms",
		    (unsigned long long)s->dbg_iter, s->dbg_poll / 1e6, s->dbg_drain / 1e6,
		    (unsigned long long)s->c->drained_words,
		    (unsigned long long)s->c->spilled_bytes, s->c->spill_ns / 1e6);
	if (s->child_pidfd >= 0)
		close(s->child_pidfd);
}

/* The run's figures, kept in the trace's meta table. */
static void write_end_meta(struct run_session *s, int exit_status)
{
	struct collect *c = s->c;
	char num[64];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)c->events_written);
	store_writer_meta(s->w, "events", num);
	snprintf(num, sizeof(num), "%.0f",
		 c->writer_busy_ns ? c->events_written * 1e9 / (double)c->writer_busy_ns : 0.0);
	store_writer_meta(s->w, "writer_events_per_s", num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)c->events_lost);
	store_writer_meta(s->w, "events_lost", num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)c->spilled_bytes);
	store_writer_meta(s->w, "spilled_bytes", num);
	snprintf(num, sizeof(num), "%d", exit_status);
	store_writer_meta(s->w, "exit_status", num);
}

/*
 * Findings: the analyses over the finished trace, then what recording saw
 * live. Returns how many findings of the --fail-on kinds exist (0 without
 * --fail-on, -1 when they cannot be counted).
 */
static int store_findings(struct run_session *s)
{
	sqlite3 *db = store_writer_db(s->w);
	char ferr[512];
	/* What the viewer's tables' builder read ahead for them, while the program ran. */
	struct store_findings_pass *ahead = s->view ? store_view_builder_findings(s->view) : NULL;
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	if (store_build_findings_after(db, ahead, s->moved_at_end, s->o->suppressions, ferr,
				       sizeof(ferr)) != 0)
		weft_error("findings: %s", ferr);
	else if (writer_store_deadlocks(s->c, db) != 0)
		weft_error("findings: cannot store deadlocks: %s", sqlite3_errmsg(db));
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	int nfail = findings_count(db, s->o->fail_on, &s->findings_total, s->findings_kinds,
				   sizeof(s->findings_kinds));
	return s->o->fail_on ? nfail : 0;
}

/* Keys and renames the build; trace_db NULL (no sealed trace) discards it. */
static void finish_view_tables(struct run_session *s, sqlite3 *trace_db)
{
	char verr[512];
	/* Without them the viewer builds the tables at its first open: no error. */
	if (store_view_builder_finish(s->view, trace_db, verr, sizeof(verr)))
		store_debug("view", "no %s-view: %s", s->o->out, verr);
	finishing_view = NULL;
	s->view = NULL;
}

/* When the tail's parts ended (weft_mono_ns), for WEFT_DEBUG. */
struct tail_times {
	uint64_t start, drained, ordered, findings, viewed;
};

/* bench/run.sh reads the second line: issue #17's "time to a usable trace". */
static void print_tail_times(const struct tail_times *t, uint64_t events)
{
	uint64_t now = weft_mono_ns();
	uint64_t viewed = t->viewed ? t->viewed : t->findings;
	store_debug("tail",
		    "tail parts: backlog %.2f s, time order %.2f s, findings %.2f s,"
		    " viewer tables %.2f s more, seal %.2f s",
		    (t->drained - t->start) / 1e9, (t->ordered - t->drained) / 1e9,
		    (t->findings - t->ordered) / 1e9, (viewed - t->findings) / 1e9,
		    (now - viewed) / 1e9);
	store_debug("tail", "tail: %.2f s after the program for %llu events, %.3f us/event",
		    (now - t->start) / 1e9, (unsigned long long)events,
		    events ? (now - t->start) / 1e3 / events : 0.0);
}

/* The tail: writes what is left, finalizes the trace, finds bugs. Returns the exit status. */
static int run_finish(struct run_session *s)
{
	const struct weft_run_options *o = s->o;
	int exit_status = s->child_done ? status_to_exit(s->child_status) : 1;
	struct tail_times times = {.start = weft_mono_ns()};
	finishing_store = s->w;
	finishing_view = s->view;
	finishing = 1;
	if (finishing_sig) /* a signal that came before finishing_view was set */
		store_view_builder_interrupt(s->view);
	release_cpus(s);
	store_view_builder_program_ended(s->view);
	struct progress prog;
	int prog_on = progress_start(&prog, s->c);
	/* The collector hands over what is left; the writer writes it and stops. */
	collect_flush(s->c);
	int failed = writer_stop_and_join(s->c) != 0;
	collect_close(s->c);
	times.drained = weft_mono_ns();
	write_end_meta(s, exit_status);
	/*
	 * Ordered events first; then the viewer's tables read the rest on the
	 * second core while this thread indexes and makes the findings; the
	 * seal waits for both.
	 */
	int fin = failed ? -1 : store_writer_order(s->w);
	times.ordered = weft_mono_ns();
	/* Rows moved that the follower has not taken yet: the end's own fixes and sorts. */
	s->moved_at_end = store_writer_take_moved(s->w);
	if (s->view && !failed && fin == 0)
		store_view_builder_complete(s->view, s->moved_at_end);
	else if (s->view)
		store_view_builder_interrupt(s->view);
	if (!failed && fin == 0)
		fin = store_writer_complete(s->w);
	int nfail = !failed && fin == 0 ? store_findings(s) : 0;
	/* A threaded program whose trace has no lock at all: say why, once. */
	if (!failed && fin == 0 && store_locks_invisible(store_writer_db(s->w)) == 1)
		weft_warn("%s", STORE_LOCKS_INVISIBLE_MSG);
	times.findings = weft_mono_ns();
	if (s->view) {
		if (failed || fin != 0)
			store_view_builder_interrupt(s->view);
		store_view_builder_join(s->view);
		times.viewed = weft_mono_ns();
	}
	if (!failed && fin == 0)
		fin = store_writer_seal(s->w);
	if (!failed && fin < 0) {
		weft_error("cannot finalize %s: %s", o->out, store_writer_error(s->w));
		failed = 1;
	}
	if (s->view)
		finish_view_tables(s, !failed && fin == 0 ? store_writer_db(s->w) : NULL);
	progress_stop(&prog, prog_on);
	print_tail_times(&times, s->c->events_written);
	if (fin == 1)
		weft_warn("interrupted: %s keeps what was written, unfinalized (no findings)",
			  o->out);
	store_writer_close(s->w);
	if (fin == 1)
		return 128 + finishing_sig;
	if (failed) {
		weft_error("the trace %s is incomplete", o->out);
		return exit_status ? exit_status : 1;
	}
	if (nfail != 0) {
		if (nfail > 0)
			weft_error("%d finding%s of kind %s (see weft report %s)", nfail,
				   nfail == 1 ? "" : "s", o->fail_on, o->out);
		return exit_status ? exit_status : 3;
	}
	/* One line when there are findings, as a sanitizer ends its run with its reports. */
	if (s->findings_total > 0)
		weft_error("%d finding%s (%s): weft report %s", s->findings_total,
			   s->findings_total == 1 ? "" : "s", s->findings_kinds, o->out);
	return exit_status;
}

int weft_run(const struct weft_run_options *o)
{
	static struct run_session s;
	memset(&s, 0, sizeof(s));
	s.o = o;
	s.child_pidfd = -1;
	int rc = run_prepare(&s);
	if (rc != 0)
		return rc;
	if (run_launch(&s) != 0)
		return 1;
	run_supervise(&s);
	return run_finish(&s);
}
