"""``qmonitor``: a live full-screen table of every cluster's Stat (blessed).

Columns as the spec's legend: Host, Id, State, Pool, TQ, RQ, RC, Up. TQ turns green when a
cluster's task queue is at its ``queue_limit``. Refreshes about once a second; ``q``
quits. Fits 80 columns (hosts are cut to 18 characters).
"""

from __future__ import annotations

from datetime import timedelta

from djq.status import Stat

COLUMNS = (("Host", 18), ("Id", 8), ("State", 9), ("Pool", 5), ("TQ", 6), ("RQ", 6),
           ("RC", 5), ("Up", 14))


def uptime_text(seconds: float) -> str:
    return str(timedelta(seconds=int(seconds)))


def row_cells(stat: Stat) -> list[str]:
    return [stat.host[:18], str(stat.cluster_id), stat.status, str(len(stat.workers)),
            str(stat.task_q_size), str(stat.done_q_size), str(stat.reincarnations),
            uptime_text(stat.uptime())]


def render(term, stats: list[Stat], title: str) -> str:
    """The whole screen as text with terminal sequences."""
    lines = [term.bold_reverse(f" {title} ".center(min(term.width or 80, 80), " "))]
    lines.append(term.bold("".join(h.ljust(w) for h, w in COLUMNS)))
    for stat in stats:
        cells = [c.ljust(w)[:w] for c, (_, w) in zip(row_cells(stat), COLUMNS)]
        if stat.queue_limit and stat.task_q_size >= stat.queue_limit:
            cells[4] = term.green(cells[4])
        lines.append("".join(cells))
    if not stats:
        lines.append("No clusters are running.")
    lines += ["", "Press q to quit"]
    return term.home + term.clear + "\n".join(lines)


def monitor(run_once: bool = False, term=None) -> None:
    import blessed

    from djq.conf import conf

    term = term or blessed.Terminal()
    title = f"djq monitor - {conf.name}"
    with term.fullscreen(), term.hidden_cursor(), term.cbreak():
        while True:
            try:
                stats = Stat.get_all()
            except Exception as exc:  # show the trouble, keep watching
                stats, title = [], f"djq monitor - stats unavailable: {exc!r}"[:78]
            print(render(term, stats, title), end="", flush=True)
            if run_once:
                return
            key = term.inkey(timeout=1)
            if key and key.lower() == "q":
                return
