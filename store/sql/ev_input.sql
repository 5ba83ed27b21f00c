-- For tests and fixtures that write events with SQL (store_ev_input_sql):
-- a temp view ev_in(id, ts, pid, tid, kind, obj, wait, arg, stack) whose
-- inserts go to ev, numbering new threads in thread_no.

CREATE TEMP VIEW ev_in AS
SELECT e.id AS id, e.ts AS ts, t.pid AS pid, t.tid AS tid, e.kind AS kind, e.obj AS obj,
    e.wait AS wait, e.arg AS arg, e.stack AS stack
FROM main.ev e JOIN main.thread_no t ON t.th = e.th;

CREATE TEMP TRIGGER ev_in_insert INSTEAD OF INSERT ON ev_in BEGIN
    INSERT OR IGNORE INTO thread_no(pid, tid) VALUES(NEW.pid, NEW.tid);
    INSERT INTO ev(id, ts, th, kind, obj, wait, arg, stack) VALUES(NEW.id, NEW.ts,
        (SELECT th FROM main.thread_no WHERE pid = NEW.pid AND tid = NEW.tid), NEW.kind,
        NEW.obj, NEW.wait, NEW.arg, NEW.stack);
END;
