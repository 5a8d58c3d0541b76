"""``cpu_affinity``: the assignment matches the spec's three tables."""

from djq.cluster.affinity import assign_cpus


def table(cpus, workers, affinity):
    return [assign_cpus(w, affinity, cpus) for w in range(1, workers + 1)]


def test_four_processors_affinity_one():
    assert table(4, 4, 1) == [[0], [1], [2], [3]]


def test_four_processors_affinity_two():
    assert table(4, 4, 2) == [[0, 1], [2, 3], [0, 1], [2, 3]]


def test_eight_processors_affinity_three():
    assert table(8, 8, 3) == [[0, 1, 2], [3, 4, 5], [6, 7, 0], [1, 2, 3],
                              [4, 5, 6], [7, 0, 1], [2, 3, 4], [5, 6, 7]]


def test_no_effect_outside_the_range():
    assert assign_cpus(1, 0, 4) is None
    assert assign_cpus(1, 4, 4) is None  # not less than the processor count
    assert assign_cpus(1, -1, 4) is None
    assert assign_cpus(1, 1, 1) is None
