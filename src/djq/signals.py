"""Django signals sent around a task's life.

* ``pre_enqueue(sender="djq", task=package)``: before a package goes to the broker.
* ``pre_execute(sender="djq", func=callable, task=package)``: in the worker, just before
  the function runs.
* ``post_execute(sender="djq", func=callable, task=package)``: in the worker, after the
  function ran (``task['result']`` and ``task['success']`` are set).
"""

from django.dispatch import Signal

pre_enqueue = Signal()
pre_execute = Signal()
post_execute = Signal()
