"""ES modules through a ModuleLoader."""

from __future__ import annotations

import pytest

from wfctl.vm import VM, JSException, VMError, mapping_loader

SOURCES = {
    "workflow": "export const base = 40; export function hello(n) { return 'hello ' + n; }",
    "app/util.js": "import { base } from 'workflow'; export const add = (x) => base + x;",
    "app/lib/deep.js": "export { add } from '../util.js';",
    "app/main.js": """
        import { hello } from "workflow";
        import { add } from "./util.js";
        import { add as add2 } from "./lib/deep.js";
        globalThis.answer = add(2);
        globalThis.same = add === add2;
        globalThis.greet = (n) => hello(n);
    """,
}


def test_imports_resolve_through_the_loader():
    calls = []
    load = mapping_loader(SOURCES)

    def loader(base, requested):
        calls.append((base, requested))
        return load(base, requested)

    v = VM.boot(modules=loader)
    v.eval_module(SOURCES["app/main.js"], "app/main.js")
    assert v.eval("[answer, same]") == [42, True]
    assert v.call("greet", "you") == "hello you"
    assert ("app/main.js", "workflow") in calls
    assert ("app/main.js", "./util.js") in calls
    assert ("app/lib/deep.js", "../util.js") in calls
    v.close()


def test_module_semantics():
    v = VM.boot(modules=mapping_loader(SOURCES))
    v.eval_module("var hidden = 1; globalThis.t = typeof this;", "m.js")
    assert v.eval("[typeof hidden, t]") == ["undefined", "undefined"]
    # top-level await on something the jobs settle
    v.eval_module("globalThis.v = await Promise.resolve(5);", "tla.js")
    assert v.eval("v") == 5
    v.close()


def test_missing_module_is_a_clear_error():
    v = VM.boot(modules=mapping_loader(SOURCES))
    with pytest.raises(JSException) as ei:
        v.eval_module('import { x } from "./nope.js";', "app/main2.js")
    e = ei.value
    assert e.name == "ReferenceError"
    assert "could not load module './nope.js' imported from 'app/main2.js'" in e.message
    assert "no module named 'app/nope.js'" in e.message
    assert v.eval("1") == 1  # the VM is fine
    v.close()
    nov = VM.boot()  # no loader at all
    with pytest.raises(JSException, match="no module loader"):
        nov.eval_module('import "workflow";', "main.js")
    nov.close()


def test_syntax_error_reports_file_and_line():
    src = dict(SOURCES, **{"app/bad.js": "export const a = 1;\n\nexport const = 2;\n"})
    v = VM.boot(modules=mapping_loader(src))
    with pytest.raises(JSException) as ei:
        v.eval_module("const ok = 1;\n\nlet = = 3;", "app/top.js")
    assert ei.value.name == "SyntaxError"
    assert (ei.value.filename, ei.value.line) == ("app/top.js", 3)
    assert "app/top.js:3" in str(ei.value)
    # ...also inside an imported module
    with pytest.raises(JSException) as ei:
        v.eval_module('import "./bad.js";', "app/entry.js")
    assert ei.value.name == "SyntaxError"
    assert (ei.value.filename, ei.value.line) == ("app/bad.js", 3)
    v.close()


def test_module_throwing_at_top_level():
    v = VM.boot(modules=mapping_loader(SOURCES))
    with pytest.raises(JSException) as ei:
        v.eval_module("\n\nthrow new Error('top level');", "app/throws.js")
    assert ei.value.message == "top level"
    assert (ei.value.filename, ei.value.line) == ("app/throws.js", 3)
    with pytest.raises(JSException, match="rejected"):
        v.eval_module("await Promise.reject(new Error('rejected'));", "app/rejects.js")
    with pytest.raises(VMError, match="still pending"):
        v.eval_module("await new Promise(() => {});", "app/hangs.js")
    v.close()


def test_loader_exceptions_become_js_errors():
    def loader(base, requested):
        raise RuntimeError(f"disk on fire while loading {requested}")

    v = VM.boot(modules=loader)
    with pytest.raises(JSException, match="disk on fire while loading x"):
        v.eval_module('import "x";', "main.js")
    # a JS catch can see it (dynamic import)
    v.eval("globalThis.err = null; import('y').catch((e) => { err = e.name + ': ' + e.message; });")
    v.run_jobs()
    assert v.eval("err").startswith("ReferenceError: could not load module 'y'")
    v.close()


def test_dynamic_import_after_restore():
    v = VM.boot(modules=mapping_loader(SOURCES))
    v.eval("globalThis.later = () => import('workflow').then((m) => { globalThis.got = m.base; });")
    snap = v.snapshot()
    v.close()
    r = VM.restore(snap, modules=mapping_loader(SOURCES))
    r.call("later")
    r.run_jobs()
    assert r.eval("got") == 40
    r.close()
