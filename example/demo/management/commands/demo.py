"""``python manage.py demo``: start a cluster, run the spec's examples, stop cleanly."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start a djq cluster on the embedded ORM broker, run the spec's examples, stop."

    def add_arguments(self, parser):
        parser.add_argument("--sync", action="store_true",
                            help="Run the examples inline (sync mode) instead of a cluster.")

    def handle(self, *args, sync: bool = False, **options):
        from django.test import override_settings
        from django.conf import settings

        if sync:
            with override_settings(Q_CLUSTER={**settings.Q_CLUSTER, "sync": True}):
                self.examples()
            return
        from djq.cluster import Cluster

        cluster = Cluster()
        cluster.start()
        self.stdout.write(f"Cluster {cluster.pid} started on {cluster.host}")
        try:
            started = time.monotonic()
            self.examples()
            self.stdout.write(f"All examples done in {time.monotonic() - started:.2f}s")
            stat = cluster.stat()
            if stat is not None:
                self.stdout.write(f"Cluster status: {stat.status}, workers: {len(stat.workers)}")
        finally:
            cluster.stop()
            self.stdout.write("Cluster stopped cleanly." if cluster.has_stopped
                              else "Cluster did not stop cleanly!")

    def show(self, title: str, value) -> None:
        self.stdout.write(f"{title:<46} {value!r}")

    def examples(self) -> None:
        from djq.brokers import get_broker
        from djq.tasks import (Async, Chain, Iter, async_chain, async_iter, async_task,
                               fetch, result, result_group)

        wait = 10_000  # ms: generous for a cold machine
        self.stdout.write("Tasks")
        task_id = async_task("math.copysign", 2, -2)
        self.show("  async_task('math.copysign', 2, -2)", result(task_id, wait))
        task_id = async_task("math.modf", 2.5, hook="demo.hooks.print_result")
        self.show("  async_task('math.modf', 2.5, hook=...)", result(task_id, wait))

        a = Async("math.floor", 1.5, group="math")
        a.run()
        self.show("  Async('math.floor', 1.5)", a.result(wait=wait))
        a.args = (2.5,)
        a.run()
        self.show("  ... a.args = (2.5,)", a.result(wait=wait))

        task_id = async_task("math.floor", 100, cached=60)
        self.show("  cached: async_task('math.floor', 100)", result(task_id, wait, cached=True))

        # ack_failure: a failed task is otherwise delivered again after retry (the spec).
        broken = async_task("my.buggy.code", ack_failure=True)
        task = fetch(broken, wait)
        self.show("  async_task('my.buggy.code') success", task.success if task else None)
        if task is not None:
            self.stdout.write(f"  An error occurred: {task.result.splitlines()[0]}")

        self.stdout.write("Groups")
        from djq.tasks import delete_group

        delete_group("modf", tasks=True)
        broker = get_broker()
        for i in range(4):
            async_task("math.modf", i, group="modf", broker=broker)
        self.show("  result_group('modf', count=4)", result_group("modf", count=4, wait=wait))

        self.stdout.write("Iterable")
        iter_id = async_iter("math.floor", [i for i in range(100)])
        collated = result(iter_id, wait=wait)
        self.show("  async_iter('math.floor', range(100))",
                  f"{len(collated)} results, sorted == range(100): "
                  f"{sorted(collated) == list(range(100))}" if collated else None)
        i = Iter("math.copysign")
        for n in (1, 2, 3):
            i.append(n, -1)
        i.run()
        self.show("  Iter('math.copysign') x3", sorted(i.result(wait=wait) or []))

        self.stdout.write("Chains")
        group_id = async_chain([("math.copysign", (1, -1)), ("math.floor", (1,))])
        self.show("  async_chain(copysign, floor)", result_group(group_id, count=2, wait=wait))
        chain = Chain(cached=True)
        chain.append("math.copysign", 1, -1)
        chain.append("math.floor", 1)
        chain.run()
        self.show("  Chain(cached=True).result()", chain.result(wait=wait))
