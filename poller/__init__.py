"""The poller: live match updates from the rate-limited sports API into pusherd.

Entry points: ``python -m poller`` (the CLI, :mod:`poller.__main__`),
:func:`poller.service.embedded` (pusherd's single-process mode) and
:func:`poller.service.running_poller` (any publisher). Data flows provider → normalize → detect →
routing → publish, one loop per sport host (:mod:`poller.poll`), paced by :mod:`poller.plan`
within the upstream quota.
"""
