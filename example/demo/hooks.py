"""The spec's hook example."""


def print_result(task):
    print(f"  hook: {task.func} -> {task.result}")
