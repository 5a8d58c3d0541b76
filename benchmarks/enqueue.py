"""The enqueuing process of a benchmark case (a separate process, one broker connection).

``python enqueue.py burst N``, ``python enqueue.py alone N`` (a burst, then the queue
purged: run with no cluster, it measures the enqueuing process on its own) or
``python enqueue.py steady RATE N``; prints JSON ``{"times": {task_id: enqueue_time},
"cpu_s": ...}`` with ``time.time()`` stamps and the CPU seconds the enqueuing loop used.
"""

import json
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench_settings")
django.setup()

system = os.environ.get("BENCH_SYSTEM", "djq")
if system == "djq":
    from djq.brokers import get_broker
    from djq.tasks import async_task
else:
    from django_q.brokers import get_broker
    from django_q.tasks import async_task

mode, args = sys.argv[1], [float(a) for a in sys.argv[2:]]
broker = get_broker()
times = {}
cpu_start = time.process_time()
if mode in ("burst", "alone"):
    for _ in range(int(args[0])):
        stamp = time.time()
        times[async_task("bench_tasks.noop", broker=broker)] = stamp
    if mode == "alone":
        broker.purge_queue()  # both systems' brokers have it; no cluster ever sees these
else:
    rate, count = args
    start = time.perf_counter()
    for i in range(int(count)):
        # Sleep to the i-th slot, not a fixed gap, so the rate holds on average.
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        stamp = time.time()
        times[async_task("bench_tasks.noop", broker=broker)] = stamp
json.dump({"times": times, "cpu_s": time.process_time() - cpu_start}, sys.stdout)
