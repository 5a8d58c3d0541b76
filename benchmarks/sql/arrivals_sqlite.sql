-- Arrival log of saved results (SQLite), installed by benchmarks/arrivals.py after migrate.
--
-- Table bench_saved: seq (INTEGER PRIMARY KEY AUTOINCREMENT, the order rows were written),
--                    task_id (the result row's id, = the id async_task returned).
-- Trigger bench_saved_{table}: AFTER INSERT ON {table} (djq_task or django_q_task) logs
-- NEW.id in the same transaction, so a log row becomes visible exactly when its result does.
-- The benchmark polls "seq > last seen" and stamps each new row with its own clock: the
-- arrival is when the result was visible to a reader, not when the INSERT ran (a system that
-- saves in batches is charged until its commit). SQLite has one writer at a time, so seq order
-- is commit order. Statements are separated by blank lines.

CREATE TABLE bench_saved (seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL)

CREATE TRIGGER bench_saved_{table} AFTER INSERT ON {table}
BEGIN
    INSERT INTO bench_saved (task_id) VALUES (NEW.id);
END
