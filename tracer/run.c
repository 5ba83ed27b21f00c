/*
 * weft run: launches the program with the preload library, collects its
 * whole process tree until it is gone, and finalizes the trace.
 */
#include "tracer/cli.h"
#include "tracer/collect.h"
#include "tracer/findings_cli.h"
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

static void usage(FILE *f)
{
	fprintf(f, "usage: weft run [-o FILE] [--stacks none|caller|full] [--timeout SECONDS] "
		   "[--races] [OPTIONS] [--] CMD [ARGS...]\n"
		   "  -o, --output FILE   trace file to write (default weft.db)\n"
		   "  --stacks MODE       none, caller (default: the call site) or full "
		   "(whole native stack)\n"
		   "  --timeout SECONDS   stop the program (SIGTERM, then SIGKILL) after "
		   "SECONDS and keep the trace\n"
		   "  --on-deadlock MODE  stop (default: end the program once a deadlock is "
		   "found) or wait\n"
		   "  --fail-on KINDS     exit 3 when findings of these kinds exist "
		   "(race,lock_order,deadlock,misuse or all)\n"
		   "  --suppressions FILE findings to leave out (docs/FINDINGS.md)\n"
		   "  --races             find data races in Python code (the program's own "
		   "modules)\n"
		   "  --races-scope PATH  instrument the Python modules under PATH instead "
		   "(repeatable; implies --races)\n");
}

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
	return collect_mono_ns() / 1e9;
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
 * The collector (this thread) and the writer share one CPU, the last the
 * program may use; the program itself keeps every CPU (it was forked
 * before this). Otherwise the collector's wake-ups, every millisecond,
 * land on whatever CPU is free at the moment, and the program's threads
 * keep being moved between CPUs to make room: 1M Python `with lock:`
 * blocks took 254 ms unpinned against 238 ms pinned (148 untraced). On
 * one CPU there is nothing to choose.
 */
static void keep_to_one_cpu(struct collect *c)
{
	cpu_set_t all, one;
	if (sched_getaffinity(0, sizeof(all), &all) != 0 || CPU_COUNT(&all) < 2)
		return;
	int last = -1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &all))
			last = i;
	CPU_ZERO(&one);
	CPU_SET(last, &one);
	pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
	pthread_setaffinity_np(c->writer, sizeof(one), &one);
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

int weft_cmd_run(int argc, char **argv)
{
	const char *out = "weft.db";
	const char *stacks_name = "caller";
	const char *fail_on = NULL, *suppressions = NULL;
	int deadlock_stop = 1;
	double timeout = 0;
	int races = 0;
	char races_scope[4000] = "";
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--races")) {
			races = 1;
			continue;
		}
		const char *val = NULL;
		const char *eq = strchr(a, '=');
		char opt[64];
		snprintf(opt, sizeof(opt), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
		if (!strcmp(opt, "-o") || !strcmp(opt, "--output") || !strcmp(opt, "--stacks") ||
		    !strcmp(opt, "--timeout") || !strcmp(opt, "--on-deadlock") ||
		    !strcmp(opt, "--fail-on") || !strcmp(opt, "--suppressions") ||
		    !strcmp(opt, "--races-scope")) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				weft_error("option %s needs a value", opt);
				usage(stderr);
				return 2;
			}
		} else {
			weft_error("unknown option %s", a);
			usage(stderr);
			return 2;
		}
		char ferr[512];
		if (!strcmp(opt, "-o") || !strcmp(opt, "--output")) {
			out = val;
		} else if (!strcmp(opt, "--on-deadlock")) {
			if (strcmp(val, "stop") && strcmp(val, "wait")) {
				weft_error("--on-deadlock takes stop or wait, not '%s'", val);
				return 2;
			}
			deadlock_stop = !strcmp(val, "stop");
		} else if (!strcmp(opt, "--fail-on")) {
			if (findings_parse_kinds(val, ferr, sizeof(ferr)) < 0) {
				weft_error("%s", ferr);
				return 2;
			}
			fail_on = val;
		} else if (!strcmp(opt, "--suppressions")) {
			if (findings_check_suppressions(val, ferr, sizeof(ferr)) < 0) {
				weft_error("%s", ferr);
				return 2;
			}
			suppressions = val;
		} else if (!strcmp(opt, "--races-scope")) {
			char real[PATH_MAX];
			if (!realpath(val, real)) {
				weft_error("--races-scope %s: %s", val, strerror(errno));
				return 2;
			}
			size_t used = strlen(races_scope), rl = strlen(real);
			if (strchr(real, ':') || used + rl + 2 > sizeof(races_scope)) {
				weft_error("--races-scope %s: path too long or contains ':'", val);
				return 2;
			}
			if (used)
				races_scope[used++] = ':';
			memcpy(races_scope + used, real, rl + 1);
			races = 1;
		} else if (!strcmp(opt, "--stacks")) {
			if (parse_stacks(val) < 0) {
				weft_error("--stacks takes none, caller or full, not '%s'", val);
				return 2;
			}
			stacks_name = val;
		} else {
			char *end;
			timeout = strtod(val, &end);
			if (*end || timeout <= 0) {
				weft_error("--timeout takes a positive number of seconds, not '%s'",
					   val);
				return 2;
			}
		}
	}
	if (i >= argc) {
		weft_error("no command to run");
		usage(stderr);
		return 2;
	}
	char **cmd = argv + i;

	char path[PATH_MAX];
	int rc = resolve_command(cmd[0], path, sizeof(path));
	if (rc == 127) {
		weft_error("%s: command not found", cmd[0]);
		return 127;
	}
	if (rc == 126) {
		weft_error("%s: permission denied (not an executable file)", cmd[0]);
		return 126;
	}
	check_preloadable(path);

	char lib[PATH_MAX];
	if (find_preload(lib, sizeof(lib)) != 0) {
		weft_error("cannot find the preload library libweft.so next to this weft (%s)",
			   lib);
		return 1;
	}

	/* Fail before the program starts when the trace cannot be written. */
	char dirbuf[PATH_MAX];
	snprintf(dirbuf, sizeof(dirbuf), "%s", out);
	const char *dir = dirname(dirbuf);
	if (access(dir, W_OK | X_OK) != 0) {
		weft_error("cannot write the trace into %s: %s", dir, strerror(errno));
		return 1;
	}
	char err[512];
	struct store_writer *w = store_writer_open(out, err, sizeof(err));
	if (!w) {
		weft_error("%s", err);
		return 1;
	}

	static struct collect c;
	char sockname[108];
	if (collect_init(&c, w, sockname, sizeof(sockname)) != 0) {
		collect_remove_socket(&c);
		store_writer_close(w);
		return 1;
	}
	collect_spill_open(&c, dir);
	c.stacks = parse_stacks(stacks_name);
	write_meta(w, cmd, stacks_name, c.use_tsc, c.start_mono_ns);
	store_writer_meta(w, "races", !races ? "off" : races_scope[0] ? races_scope : "program");

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
	pid_t pid = fork();
	if (pid < 0) {
		weft_error("fork: %s", strerror(errno));
		collect_remove_socket(&c);
		store_writer_close(w);
		return 1;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		prctl(PR_SET_CHILD_SUBREAPER, 0);
		setrlimit(RLIMIT_NOFILE, &c.nofile);
		setenv_preload(lib);
		setenv(WEFT_ENV_SOCK, sockname, 1);
		setenv(WEFT_ENV_STACKS, stacks_name, 1);
		setenv(WEFT_ENV_COLLECTOR, pidbuf, 1);
		setenv(WEFT_ENV_LIB, lib, 1);
		if (races)
			setenv("WEFT_RACES", races_scope, 1);
		else
			unsetenv("WEFT_RACES");
		setenv("WEFT_CLOCK", c.use_tsc ? "tsc" : "monotonic", 1);
		execv(path, cmd);
		int e = errno;
		weft_error("%s: %s", cmd[0], strerror(e));
		_exit(e == ENOENT ? 127 : 126);
	}
	child_pid = pid;
	/* Our unreaped child: its pid cannot be reused until we wait for it. */
	int child_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	keep_to_one_cpu(&c);

	int child_status = 0, child_done = 0, no_children = 0, deadlock_seen = 0;
	uint64_t t_start = collect_mono_ns(), term_sent_at = 0, quiet_since = 0;
	size_t got = 0;
	uint64_t dbg_poll = 0, dbg_drain = 0, dbg_iter = 0, last_data = collect_mono_ns();
	int writer_urgent = 0;
	for (;;) {
		/* Busy rings are drained again at once; idle ones every few ms. */
		uint64_t d0 = collect_mono_ns();
		collect_poll(&c, got > 100000 ? 0 : 1);
		uint64_t d1 = collect_mono_ns();
		got = collect_drain(&c);
		dbg_poll += d1 - d0;
		dbg_drain += collect_mono_ns() - d1;
		dbg_iter++;
		if (got) {
			last_data = collect_mono_ns();
			if (writer_urgent)
				writer_set_urgent(&c, writer_urgent = 0);
		} else if (!writer_urgent && collect_mono_ns() - last_data > 500000000ull) {
			writer_set_urgent(&c, writer_urgent = 1);
		}
		for (;;) {
			int st;
			pid_t r = waitpid(-1, &st, WNOHANG);
			if (r > 0) {
				collect_reaped(&c, r, st);
				if (r == pid) {
					child_status = st;
					child_done = 1;
					child_pid = 0;
				}
				continue;
			}
			no_children = r < 0 && errno == ECHILD;
			break;
		}
		uint64_t now = collect_mono_ns();
		if (child_done && no_children) {
			if (collect_live_images(&c) == 0)
				break;
			/* Connections outliving every process cannot produce more events. */
			if (!quiet_since)
				quiet_since = now;
			else if (now - quiet_since > 2000000000ull) {
				if (getenv("WEFT_DEBUG"))
					collect_debug_live(&c);
				break;
			}
		}
		if (timeout > 0 && now - t_start > (uint64_t)(timeout * 1e9) && !term_sent_at) {
			weft_warn("--timeout reached: stopping the program");
			term_sent_at = now;
			stop_tree(&c, child_pidfd, child_done, SIGTERM);
		}
		if (!deadlock_seen && __atomic_load_n(&c.deadlock_found, __ATOMIC_ACQUIRE)) {
			deadlock_seen = 1;
			pthread_mutex_lock(&c.lock);
			weft_error("%s", c.deadlock_summary);
			pthread_mutex_unlock(&c.lock);
			if (deadlock_stop && !term_sent_at) {
				weft_warn(
				    "stopping the deadlocked program (--on-deadlock=wait keeps "
				    "it waiting)");
				term_sent_at = now;
				stop_tree(&c, child_pidfd, child_done, SIGTERM);
			}
		}
		if (term_sent_at && now - term_sent_at > 2000000000ull) {
			/* SIGTERM was not enough (handled, ignored, or a thread holds it up). */
			stop_tree(&c, child_pidfd, child_done, SIGKILL);
		}
		if (c.writer_failed)
			break;
	}

	if (getenv("WEFT_DEBUG"))
		fprintf(stderr,
			"weft: loop %llu iterations, poll %.1f ms, drain %.1f ms, %llu words, %llu "
			"spilled in %.1f ms\n",
			(unsigned long long)dbg_iter, dbg_poll / 1e6, dbg_drain / 1e6,
			(unsigned long long)c.drained_words, (unsigned long long)c.spilled_bytes,
			c.spill_ns / 1e6);
	if (child_pidfd >= 0)
		close(child_pidfd);
	int exit_status = child_done ? status_to_exit(child_status) : 1;
	uint64_t tail0 = collect_mono_ns();
	finishing_store = w;
	finishing = 1;
	struct progress prog;
	int prog_on = progress_start(&prog, &c);
	int failed = collect_finish(&c) != 0;
	uint64_t tail_drained = collect_mono_ns();
	char num[64];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)c.events_written);
	store_writer_meta(w, "events", num);
	snprintf(num, sizeof(num), "%.0f",
		 c.writer_busy_ns ? c.events_written * 1e9 / (double)c.writer_busy_ns : 0.0);
	store_writer_meta(w, "writer_events_per_s", num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)c.events_lost);
	store_writer_meta(w, "events_lost", num);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)c.spilled_bytes);
	store_writer_meta(w, "spilled_bytes", num);
	snprintf(num, sizeof(num), "%d", exit_status);
	store_writer_meta(w, "exit_status", num);
	int fin = failed ? -1 : store_writer_finalize(w);
	if (!failed && fin < 0) {
		weft_error("cannot finalize %s: %s", out, store_writer_error(w));
		failed = 1;
	}
	uint64_t tail_finalized = collect_mono_ns();
	int nfail = 0;
	/* The viewer's tables on the second core while this thread makes the findings. */
	struct store_view_builder *view = NULL;
	if (!failed && fin == 0 && !finishing_sig) {
		view = store_view_builder_start(out);
		sqlite3_busy_handler(store_writer_db(w), store_view_builder_busy, view);
		finishing_view = view;
		if (finishing_sig) /* a signal that came before finishing_view was set */
			store_view_builder_interrupt(view);
	}
	if (!failed && fin == 0) {
		/* Findings: the analyses over the finished trace, then what recording saw live. */
		sqlite3 *db = store_writer_db(w);
		char ferr[512];
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		if (store_build_findings(db, suppressions, ferr, sizeof(ferr)) != 0) {
			weft_error("findings: %s", ferr);
		} else if (writer_store_deadlocks(&c, db) != 0) {
			weft_error("findings: cannot store deadlocks: %s", sqlite3_errmsg(db));
		}
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		if (fail_on)
			nfail = findings_fail_status(db, fail_on);
	}
	/* A threaded program whose trace has no lock at all: say why, once. */
	if (!failed && fin == 0 && store_locks_invisible(store_writer_db(w)) == 1)
		weft_warn("%s", STORE_LOCKS_INVISIBLE_MSG);
	uint64_t tail_findings = collect_mono_ns();
	if (view) {
		char verr[512];
		/* Without it the viewer builds the tables at its first open: no error. */
		if (store_view_builder_finish(view, verr, sizeof(verr)) && getenv("WEFT_DEBUG"))
			fprintf(stderr, "weft: no %s-view: %s\n", out, verr);
		finishing_view = NULL;
		sqlite3_busy_handler(store_writer_db(w), NULL, NULL);
	}
	progress_stop(&prog, prog_on);
	/* bench/run.sh reads this line: issue #17's "time to a usable trace". */
	if (getenv("WEFT_DEBUG")) {
		uint64_t now = collect_mono_ns();
		fprintf(stderr,
			"weft: tail parts: backlog %.2f s, finalize %.2f s, findings %.2f s,"
			" viewer tables %.2f s more\n",
			(tail_drained - tail0) / 1e9, (tail_finalized - tail_drained) / 1e9,
			(tail_findings - tail_finalized) / 1e9, (now - tail_findings) / 1e9);
		fprintf(
		    stderr, "weft: tail: %.2f s after the program for %llu events, %.3f us/event\n",
		    (now - tail0) / 1e9, (unsigned long long)c.events_written,
		    c.events_written ? (now - tail0) / 1e3 / c.events_written : 0.0);
	}
	if (fin == 1)
		weft_warn("interrupted: %s keeps what was written, unfinalized (no findings)", out);
	store_writer_close(w);
	if (fin == 1)
		return 128 + finishing_sig;
	if (failed) {
		weft_error("the trace %s is incomplete", out);
		return exit_status ? exit_status : 1;
	}
	if (nfail != 0) {
		if (nfail > 0)
			weft_error("%d finding%s of kind %s (see weft report %s)", nfail,
				   nfail == 1 ? "" : "s", fail_on, out);
		return exit_status ? exit_status : 3;
	}
	return exit_status;
}
