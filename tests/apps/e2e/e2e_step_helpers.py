"""A helper module imported by steps.py (catalogue #38: cross-file step errors).

The module name is unique on purpose: app directories are put on sys.path while steps.py is
imported, so a generic name such as ``helpers`` could collide with another app's module.
"""

from wfctl import step


def throw_helper_error():
    raise Exception("Step error from imported helper module")


@step(max_retries=0)
def step_that_throws_from_helper():
    throw_helper_error()


@step
def imported_step_only():
    """Registered only because steps.py imports this module (catalogue #7): steps.py never
    names it."""
    return "imported-step-only-ok"


def read_metadata_from_helper():
    """A module-level helper that reads the running step's metadata (catalogue #66)."""
    from wfctl import get_step_metadata

    return get_step_metadata()
