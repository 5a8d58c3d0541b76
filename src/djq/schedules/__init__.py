"""Schedule internals: the date math (:mod:`.next_run`) and argument text
(:mod:`.arguments`). The model is :class:`djq.models.Schedule`; the scheduling pass is
:func:`djq.scheduler.scheduler`."""
