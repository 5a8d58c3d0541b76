-- Arrival log of saved results (PostgreSQL), installed by benchmarks/arrivals.py after migrate.
--
-- Table bench_saved: seq (bigserial, the order rows were written), task_id (the result row's
--                    id, = the id async_task returned).
-- Trigger bench_saved_{table}: AFTER INSERT ON {table} (djq_task or django_q_task), FOR EACH
-- ROW, logs NEW.id in the same transaction, so a log row becomes visible exactly when its
-- result does (also for multi-row INSERTs). The benchmark polls "seq > watermark" and stamps
-- new rows with its own clock. Concurrent transactions may commit out of seq order; the
-- poller's watermark (benchmarks/arrivals.py, Arrivals) only moves past a gap once it is filled
-- or old. Statements are separated by blank lines.

CREATE TABLE bench_saved (seq bigserial PRIMARY KEY, task_id text NOT NULL)

CREATE FUNCTION bench_saved_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_saved (task_id) VALUES (NEW.id);
    RETURN NULL;
END
$$

CREATE TRIGGER bench_saved_{table} AFTER INSERT ON {table}
    FOR EACH ROW EXECUTE FUNCTION bench_saved_log()
