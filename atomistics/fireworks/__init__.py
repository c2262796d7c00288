"""FireWorks integration: a study as a Workflow of small Firetasks, LaunchPads, queues.

* :mod:`atomistics.fireworks.embedded` - the server-less LaunchPad store (one process
  at a time). It is imported by FireWorks itself while it reads ``FW_config.yaml``,
  so neither this package ``__init__`` nor that module may import ``fireworks``.
* :mod:`atomistics.fireworks.launchpad` - open a LaunchPad (embedded or MongoDB),
  write the embedded mode's config files.
* :mod:`atomistics.fireworks.tasks` - the Firetasks (write, run, store, binding energy).
* :mod:`atomistics.fireworks.workflow` - study -> Workflow, skipping stored results.
"""
