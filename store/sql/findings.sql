-- The findings' tables and views (store_findings_sql, docs/SCHEMA.md), made
-- in the trace (main) or, for a trace that cannot be written, in the
-- connection's temp schema: @schema stands for the one they go in
-- (store_findings.c replaces it). Each list column of findings names a
-- finding's participants in item order.

CREATE TABLE IF NOT EXISTS @schema.finding(finding_id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL, rule TEXT, severity TEXT NOT NULL DEFAULT 'warning',
    summary TEXT NOT NULL, detail TEXT, count INTEGER NOT NULL DEFAULT 1,
    event_id INTEGER, ts_ns INTEGER, pid INTEGER, tid INTEGER, group_key TEXT,
    suppressed TEXT);
CREATE TABLE IF NOT EXISTS @schema.finding_item(finding_id INTEGER NOT NULL,
    seq INTEGER NOT NULL, role TEXT NOT NULL, pid INTEGER, tid INTEGER,
    object_id INTEGER, event_id INTEGER, stack_id INTEGER,
    PRIMARY KEY(finding_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS @schema.finding_info(key TEXT PRIMARY KEY, value) WITHOUT ROWID;

CREATE VIEW IF NOT EXISTS @schema.findings AS
SELECT f.finding_id AS finding_id, f.kind AS kind, f.rule AS rule, f.severity AS severity,
    f.count AS count, f.summary AS summary,
    (SELECT group_concat(x, ', ') FROM (SELECT i.tid || ' ' || coalesce(th.name, '?') AS x
        FROM finding_item i LEFT JOIN main.thr th ON th.pid = i.pid AND th.tid = i.tid
        WHERE i.finding_id = f.finding_id AND i.tid IS NOT NULL
        GROUP BY x ORDER BY min(i.seq))) AS threads,
    (SELECT group_concat(x, ', ') FROM (SELECT coalesce(o.name, 'object ' || i.object_id) AS x
        FROM finding_item i LEFT JOIN main.obj o ON o.object_id = i.object_id
        WHERE i.finding_id = f.finding_id AND i.object_id IS NOT NULL
        GROUP BY x ORDER BY min(i.seq))) AS objects,
    f.pid AS pid, f.tid AS tid,
    (SELECT name FROM main.thr WHERE pid = f.pid AND tid = f.tid) AS thread_name,
    (SELECT group_concat(x, ', ') FROM (SELECT i.object_id AS x FROM finding_item i
        WHERE i.finding_id = f.finding_id AND i.object_id IS NOT NULL
        GROUP BY x ORDER BY min(i.seq))) AS object_ids,
    (SELECT group_concat(x, ', ') FROM (SELECT i.stack_id AS x FROM finding_item i
        WHERE i.finding_id = f.finding_id AND i.stack_id IS NOT NULL
        GROUP BY x ORDER BY min(i.seq))) AS stack_ids,
    (SELECT group_concat(x, ', ') FROM (SELECT i.event_id AS x FROM finding_item i
        WHERE i.finding_id = f.finding_id AND i.event_id IS NOT NULL
        GROUP BY x ORDER BY min(i.seq))) AS event_ids,
    f.event_id AS event_id, f.ts_ns AS ts_ns, f.detail AS detail
FROM finding f
WHERE f.suppressed IS NULL;

CREATE VIEW IF NOT EXISTS @schema.finding_items AS
SELECT i.finding_id AS finding_id, i.seq AS seq, i.role AS role, i.pid AS pid, i.tid AS tid,
    th.name AS thread_name, i.object_id AS object_id, o.name AS object_name,
    i.event_id AS event_id, e.ts AS ts_ns, i.stack_id AS stack_id,
    fr.function AS function, fr.file AS file, fr.line AS line
FROM finding_item i
LEFT JOIN main.thr th ON th.pid = i.pid AND th.tid = i.tid
LEFT JOIN main.obj o ON o.object_id = i.object_id
LEFT JOIN main.ev e ON e.id = i.event_id
LEFT JOIN main.frame fr ON fr.stack_id = i.stack_id AND fr.depth = 0;
