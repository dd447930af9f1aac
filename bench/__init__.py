"""wfctl's benchmark suite (``make bench`` → ``python -m bench``).

Workloads mirror the reference suite (``workflow-devkit.md`` §11) with steps that do no work,
so what is measured is the engine's own overhead, for both runtimes. See ``bench/__main__.py``.
"""
