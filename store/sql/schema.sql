-- The trace schema (store_schema_sql): raw tables tuned for size, public
-- views as the contract (docs/SCHEMA.md). Embedded into weft at build time
-- (the Makefile's store_sql.c rule).
--
-- Raw tables keep integers small (times relative to the trace start, kinds
-- as codes) so an event row costs about 20-30 bytes; the views give them
-- their public names and units.

CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE event_kind(kind INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE object_kind(kind INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);

-- ev.th is a small per-thread number (thread_no maps it to pid and tid):
-- 4 bytes per event smaller than pid and tid. ev's columns have no type
-- and no NOT NULL: the writer binds only integers, and a typed column
-- costs every inserted row an affinity pass and a typed NOT NULL a check
-- (callgrind, the writer thread on the lock microbenchmark: 4.8% of its
-- instructions).
CREATE TABLE ev(id INTEGER PRIMARY KEY, ts, th, kind, obj, wait, arg, stack);
CREATE TABLE thread_no(th INTEGER PRIMARY KEY, pid INTEGER NOT NULL, tid INTEGER NOT NULL,
    UNIQUE(pid, tid));

CREATE TABLE obj(object_id INTEGER PRIMARY KEY, pid INTEGER, kind INTEGER, name TEXT,
    created_ns INTEGER, addr INTEGER, stack_id INTEGER);
CREATE TABLE proc(pid INTEGER PRIMARY KEY, ppid INTEGER, argv TEXT, start_ns INTEGER,
    end_ns INTEGER, exit_code INTEGER, exit_signal INTEGER, name TEXT);
CREATE TABLE thr(pid INTEGER, tid INTEGER, name TEXT, start_ns INTEGER, end_ns INTEGER,
    unrecorded INTEGER DEFAULT 0, producer_waits INTEGER DEFAULT 0, py_ident INTEGER,
    PRIMARY KEY(pid, tid)) WITHOUT ROWID;
CREATE TABLE frame(stack_id INTEGER, depth INTEGER, lang TEXT, function TEXT, file TEXT,
    line INTEGER, module TEXT, pc INTEGER, PRIMARY KEY(stack_id, depth)) WITHOUT ROWID;
CREATE TABLE race(id INTEGER PRIMARY KEY, pid INTEGER, rule INTEGER, site_a INTEGER,
    site_b INTEGER, tid_a INTEGER, ts_a INTEGER, flags_a INTEGER, stack_a INTEGER,
    held_a TEXT, tid_b INTEGER, ts_b INTEGER, flags_b INTEGER, stack_b INTEGER,
    held_b TEXT, location TEXT);

-- The summaries the writer keeps while it writes ev (store_write.c), flushed
-- at every commit, so the everyday counts never read the events. sum_thread
-- holds what weft report needs of each thread beyond its counts: where its
-- first event is in (ts, arrival) order (first_seq: the arrival), its GIL
-- hold time and the start of a lock wait still open at its last event (-1:
-- none). sum_p90 is made at finalize. Public through the views below; the
-- kind codes 1 and 3 are lock.acquire and lock.fail.
CREATE TABLE sum_thread(th INTEGER PRIMARY KEY, first_ts INTEGER, first_seq INTEGER,
    gil_hold INTEGER, wait_open INTEGER);
CREATE TABLE sum_thread_kind(th INTEGER, kind INTEGER, events INTEGER, waited INTEGER,
    wait INTEGER, max_wait INTEGER, max_stack INTEGER, first_ts INTEGER, last_ts INTEGER,
    PRIMARY KEY(th, kind)) WITHOUT ROWID;
CREATE TABLE sum_object_kind(obj INTEGER, kind INTEGER, events INTEGER, waited INTEGER,
    wait INTEGER, max_wait INTEGER, max_stack INTEGER, first_ts INTEGER, last_ts INTEGER,
    PRIMARY KEY(obj, kind)) WITHOUT ROWID;
CREATE TABLE sum_p90(obj INTEGER PRIMARY KEY, p90 INTEGER);

CREATE VIEW kind_counts AS
SELECT k.name AS kind, sum(s.events) AS events, sum(s.waited) AS waited,
    sum(s.wait) AS wait_ns, max(s.max_wait) AS max_wait_ns,
    min(s.first_ts) AS first_ns, max(s.last_ts) AS last_ns
FROM sum_thread_kind s JOIN event_kind k ON k.kind = s.kind
GROUP BY s.kind;

CREATE VIEW thread_counts AS
SELECT t.pid AS pid, t.tid AS tid, k.name AS kind, s.events AS events, s.waited AS waited,
    s.wait AS wait_ns, s.max_wait AS max_wait_ns, s.max_stack AS max_wait_stack_id,
    s.first_ts AS first_ns, s.last_ts AS last_ns
FROM sum_thread_kind s JOIN thread_no t ON t.th = s.th
JOIN event_kind k ON k.kind = s.kind;

CREATE VIEW object_counts AS
SELECT s.obj AS object_id, k.name AS kind, s.events AS events, s.waited AS waited,
    s.wait AS wait_ns, s.max_wait AS max_wait_ns, s.max_stack AS max_wait_stack_id,
    s.first_ts AS first_ns, s.last_ts AS last_ns
FROM sum_object_kind s JOIN event_kind k ON k.kind = s.kind;

CREATE VIEW contention AS
SELECT s.obj AS object_id, o.name AS name, ok.name AS kind, o.pid AS pid,
    sum(CASE s.kind WHEN 1 THEN s.events ELSE 0 END) AS acquisitions,
    sum(CASE s.kind WHEN 1 THEN s.waited ELSE 0 END) AS contended,
    sum(CASE s.kind WHEN 3 THEN s.events ELSE 0 END) AS failed,
    sum(CASE s.kind WHEN 3 THEN s.wait ELSE 0 END) AS failed_wait_ns,
    sum(CASE s.kind WHEN 1 THEN s.wait ELSE 0 END) AS total_wait_ns,
    max(CASE s.kind WHEN 1 THEN s.max_wait END) AS max_wait_ns,
    (SELECT p.p90 FROM sum_p90 p WHERE p.obj = s.obj) AS p90_wait_ns,
    max(CASE s.kind WHEN 1 THEN s.max_stack END) AS max_wait_stack_id
FROM sum_object_kind s LEFT JOIN obj o ON o.object_id = s.obj
LEFT JOIN object_kind ok ON ok.kind = o.kind
WHERE s.kind IN (1, 3)
GROUP BY s.obj;

CREATE VIEW events AS
SELECT e.id AS id, e.ts AS ts_ns, t.pid AS pid, t.tid AS tid, k.name AS kind,
    e.obj AS object_id, e.wait AS wait_ns, e.arg AS arg, e.stack AS stack_id
FROM ev e JOIN thread_no t ON t.th = e.th
JOIN event_kind k ON k.kind = e.kind;

CREATE VIEW objects AS
SELECT o.object_id AS object_id, o.pid AS pid, k.name AS kind, o.name AS name,
    o.created_ns AS created_ns, o.addr AS address, o.stack_id AS stack_id
FROM obj o JOIN object_kind k ON k.kind = o.kind;

CREATE VIEW processes AS
SELECT pid, ppid, argv, start_ns, end_ns, exit_code, exit_signal, name FROM proc;

CREATE VIEW threads AS
SELECT pid, tid, name, start_ns, end_ns, unrecorded, producer_waits, py_ident FROM thr;

CREATE VIEW stack_frames AS
SELECT stack_id, depth, lang, function, file, line, module, pc FROM frame;
