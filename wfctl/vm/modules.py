"""ES-module resolution: the :data:`ModuleLoader` callback type and a dict-backed loader."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping

__all__ = ["ModuleLoader", "mapping_loader"]

ModuleLoader = Callable[[str, str], tuple[str, str]]
"""``(base_name, requested) -> (resolved_name, source)``.

``base_name`` is the importing module's resolved name (for the module given to
``VM.eval_module`` it is that call's ``filename``; for ``import()`` in a script, the
script's filename). Raise any ``Exception`` if the module does not exist: the import fails
in JS with ``ReferenceError: could not load module '<requested>' imported from '<base>':
<your message>``. It is called for every import statement, also of modules already loaded
(QuickJS then reuses the loaded module under ``resolved_name``)."""


def mapping_loader(sources: Mapping[str, str]) -> ModuleLoader:
    """A :data:`ModuleLoader` over ``{resolved_name: source}``.

    Relative specifiers (``./x.js``, ``../x.js``) resolve against the importing module's
    directory (POSIX paths); anything else (``"workflow"``) is looked up as is. A missing
    name raises ``KeyError``.
    """

    def load(base: str, requested: str) -> tuple[str, str]:
        name = requested
        if requested.startswith(("./", "../")):
            name = posixpath.normpath(posixpath.join(posixpath.dirname(base), requested))
        if name not in sources:
            raise KeyError(f"no module named {name!r}")
        return name, sources[name]

    return load
