/*
 * Unit tests of store_holds, the one held-lock replay: what each event
 * does to a thread's held set under each caller's rules (re-entries
 * counted or a level each, rwlock reads, releases of what is not held,
 * kinds kept out, a failed cond wait's re-acquire, an exec that succeeds
 * or fails).
 */
#include "store/store_holds.h"
#include "preload/kinds.h"
#include "tests/unit/unit_check.h"

#include <errno.h>
#include <stdio.h>

#define ACQ WEFT_EV_LOCK_ACQUIRE
#define REL WEFT_EV_LOCK_RELEASE

static struct store_hold ended;

static enum store_holds_what ev(struct store_holds *s, int kind, int obj_kind, int64_t obj,
				int64_t ts, int64_t arg)
{
	struct store_holds_event e = {
	    .kind = kind, .obj_kind = obj_kind, .obj = obj, .ts = ts, .ev = ts * 10, .arg = arg};
	return store_holds_apply(s, &e, &ended);
}

static void check_what(int got, int want, const char *name)
{
	char detail[64];
	snprintf(detail, sizeof(detail), "got %d, want %d", got, want);
	unit_check(got == want, name, detail);
}

static void test_counted(void)
{
	struct store_holds s;
	store_holds_init(&s, 0, STORE_HOLDS_OWNED, 0);
	check_what(ev(&s, ACQ, WEFT_OBJ_MUTEX, 1, 100, 0), STORE_HOLDS_ACQUIRED, "counted:first");
	check_what(ev(&s, ACQ, WEFT_OBJ_MUTEX, 1, 110, 0), STORE_HOLDS_REENTERED, "counted:again");
	check_what(s.n, 1, "counted:one-entry");
	check_what(ev(&s, ACQ, WEFT_OBJ_RWLOCK, 2, 120, 0), STORE_HOLDS_ACQUIRED, "counted:rw");
	unit_check(!s.h[1].excl && s.h[0].excl, "counted:rwlock-read-shared", "");
	check_what(ev(&s, REL, WEFT_OBJ_MUTEX, 1, 130, 0), STORE_HOLDS_LEVEL_RELEASED,
		   "counted:level");
	check_what(ev(&s, REL, WEFT_OBJ_MUTEX, 1, 140, 0), STORE_HOLDS_RELEASED, "counted:last");
	unit_check(ended.obj == 1 && ended.start == 100 && ended.ev == 1000, "counted:ended-first",
		   "the hold that ended is the first acquisition");
	check_what(ev(&s, REL, WEFT_OBJ_MUTEX, 1, 150, 0), STORE_HOLDS_NOT_HELD,
		   "counted:not-held");
	/* A semaphore and the GIL have no owner: a set of owned locks ignores them. */
	check_what(ev(&s, ACQ, WEFT_OBJ_SEMAPHORE, 3, 160, 0), STORE_HOLDS_NOTHING,
		   "counted:semaphore");
	check_what(ev(&s, WEFT_EV_GIL_ACQUIRE, WEFT_OBJ_GIL, 4, 170, 0), STORE_HOLDS_NOTHING,
		   "counted:gil-not-owned");
	check_what(ev(&s, ACQ, 0, 5, 180, 0), STORE_HOLDS_NOTHING, "counted:unknown-object");
	check_what(s.n, 1, "counted:rwlock-left");
	store_holds_free(&s);
}

static void test_each_level(void)
{
	struct store_holds s;
	store_holds_init(&s, STORE_HOLDS_EACH_LEVEL, STORE_HOLDS_HELD, 0);
	check_what(ev(&s, ACQ, WEFT_OBJ_PY_RLOCK, 1, 100, 0), STORE_HOLDS_ACQUIRED, "level:first");
	check_what(ev(&s, ACQ, WEFT_OBJ_PY_RLOCK, 1, 110, 0), STORE_HOLDS_REENTERED, "level:again");
	check_what(s.n, 2, "level:two-entries");
	check_what(ev(&s, REL, WEFT_OBJ_PY_RLOCK, 1, 120, 0), STORE_HOLDS_LEVEL_RELEASED,
		   "level:inner");
	unit_check(ended.start == 110, "level:inner-ended", "the innermost level ends first");
	check_what(ev(&s, REL, WEFT_OBJ_PY_RLOCK, 1, 130, 0), STORE_HOLDS_RELEASED, "level:outer");
	unit_check(ended.start == 100, "level:outer-ended", "then the outer one");
	check_what(ev(&s, WEFT_EV_GIL_ACQUIRE, WEFT_OBJ_GIL, 4, 140, 0), STORE_HOLDS_ACQUIRED,
		   "level:gil-held");
	store_holds_free(&s);
}

static void test_unwanted(void)
{
	struct store_holds s;
	store_holds_init(&s, 0, STORE_HOLDS_HELD, STORE_HOLDS_ANY_RELEASER);
	check_what(ev(&s, ACQ, WEFT_OBJ_PY_LOCK, 1, 100, 0), STORE_HOLDS_NOTHING,
		   "unwanted:py-lock-acquire");
	check_what(ev(&s, REL, WEFT_OBJ_PY_LOCK, 1, 110, 0), STORE_HOLDS_NOTHING,
		   "unwanted:py-lock-release");
	check_what(ev(&s, REL, WEFT_OBJ_MUTEX, 2, 120, 0), STORE_HOLDS_NOT_HELD,
		   "unwanted:mutex-not-held");
	store_holds_free(&s);
}

static void test_cond_failure(void)
{
	struct store_holds plain, s;
	store_holds_init(&plain, 0, STORE_HOLDS_OWNED, 0);
	store_holds_init(&s, STORE_HOLDS_COND_FAILURE, STORE_HOLDS_OWNED, 0);
	struct store_holds *both[] = {&plain, &s};
	for (int i = 0; i < 2; i++) {
		ev(both[i], ACQ, WEFT_OBJ_MUTEX, 1, 100, 0);
		ev(both[i], REL, WEFT_OBJ_MUTEX, 1, 110, 2);
		ev(both[i], WEFT_EV_COND_WAIT, WEFT_OBJ_NONE, 9, 120, EINVAL);
	}
	check_what(ev(&s, ACQ, WEFT_OBJ_MUTEX, 1, 130, 2), STORE_HOLDS_SKIPPED,
		   "cond:failed-reacquire-skipped");
	check_what(ev(&plain, ACQ, WEFT_OBJ_MUTEX, 1, 130, 2), STORE_HOLDS_ACQUIRED,
		   "cond:without-the-rule");
	ev(&s, WEFT_EV_COND_WAIT, WEFT_OBJ_NONE, 9, 140, ETIMEDOUT);
	check_what(ev(&s, ACQ, WEFT_OBJ_MUTEX, 1, 150, 2), STORE_HOLDS_ACQUIRED,
		   "cond:timed-out-reacquires");
	store_holds_free(&plain);
	store_holds_free(&s);
}

static void test_exec(void)
{
	struct store_holds s;
	store_holds_init(&s, STORE_HOLDS_EXEC, STORE_HOLDS_OWNED, 0);
	ev(&s, ACQ, WEFT_OBJ_MUTEX, 1, 100, 0);
	check_what(ev(&s, WEFT_EV_PROCESS_EXEC, 0, 0, 110, 0), STORE_HOLDS_EXEC_STASHED,
		   "exec:stashed");
	check_what(s.n, 0, "exec:empty");
	check_what(ev(&s, WEFT_EV_PROCESS_EXEC, 0, 0, 120, ENOENT), STORE_HOLDS_EXEC_RESTORED,
		   "exec:failed-restores");
	check_what(s.n, 1, "exec:held-again");
	ev(&s, WEFT_EV_PROCESS_EXEC, 0, 0, 130, 0);
	ev(&s, ACQ, WEFT_OBJ_MUTEX, 2, 140, 0); /* the new image runs: no way back */
	check_what(ev(&s, WEFT_EV_PROCESS_EXEC, 0, 0, 150, ENOENT), STORE_HOLDS_NOTHING,
		   "exec:stash-dropped");
	check_what(s.n == 1 && s.h[0].obj == 2, 1, "exec:new-image-set");
	store_holds_free(&s);
}

/* The kind table's bits: the viewer reads a previous owner back only as far as they allow. */
static void test_kind_rules(void)
{
	static const struct {
		int kind;
		unsigned want;
	} rules[] = {
	    {WEFT_OBJ_MUTEX, STORE_HOLDS_HELD | STORE_HOLDS_OWNED | STORE_HOLDS_EXCLUSIVE},
	    {WEFT_OBJ_RWLOCK, STORE_HOLDS_HELD | STORE_HOLDS_OWNED},
	    {WEFT_OBJ_GIL, STORE_HOLDS_HELD | STORE_HOLDS_EXCLUSIVE},
	    {WEFT_OBJ_PY_LOCK, STORE_HOLDS_HELD | STORE_HOLDS_ANY_RELEASER | STORE_HOLDS_OWNED |
				   STORE_HOLDS_EXCLUSIVE},
	    {WEFT_OBJ_PY_CONDITION, STORE_HOLDS_HELD},
	    {WEFT_OBJ_SEMAPHORE, 0},
	    {0, 0},
	};
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		char name[48];
		snprintf(name, sizeof(name), "kind-rules:%d", rules[i].kind);
		check_what((int)store_holds_kind_rules(rules[i].kind), (int)rules[i].want, name);
	}
}

int main(void)
{
	test_kind_rules();
	test_counted();
	test_each_level();
	test_unwanted();
	test_cond_failure();
	test_exec();
	return unit_failures ? 1 : 0;
}
