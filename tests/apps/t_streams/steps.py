from wfctl import get_step_metadata, step
from wfctl.streams import get_writable


def _value(v):
    if isinstance(v, dict) and set(v) == {"bytes"}:
        return v["bytes"].encode()
    return v


@step
def emit(out, chunks):
    for c in chunks:
        out.write(_value(c))


@step
async def emitAsync(out, chunks):
    async with out:
        for c in chunks:
            await out.write(_value(c))


@step
def flakyEmit(out):
    attempt = get_step_metadata().attempt
    out.write(f"a{attempt}-1")
    out.write(f"a{attempt}-2")
    if attempt == 1:
        raise RuntimeError("transient")
    out.close()


@step
def closeIt(out):
    out.close()


@step
def writeAfterClose(out):
    out.write("again")


@step
def writeBad(out):
    out.write(object())


@step
def emitInside():
    with get_writable() as w:
        w.write(b"Hello from step!")
        w.write(b"Second message")
    with get_writable("step-ns") as w:
        w.write({"message": "hi"})
        w.write({"counter": 42})


@step
def add(a, b):
    return a + b


@step
def writeAbortSignal(out, reason, expired):
    with out:
        out.write({"type": "abort", "reason": reason, "expired": expired})


UTF8_TEXTS = ["Héllo wörld àçèñ", "日本語テキスト 🎉🚀", "مرحبا بالعالم"]


@step
def writeUtf8(out):
    with out:
        for text in UTF8_TEXTS:
            out.write(text.encode("utf-8"))
        out.write({"ok": True, "note": "ünïcödé"})


@step
def signalParent(token, payload):
    # A step resumes another run's hook through the engine API; the parent's own invocation
    # sees the payload on its next look at the log.
    from wfctl.engine.engine import Engine
    from wfctl.streams import default_world

    with default_world() as world:
        Engine(world).resume_hook(token, payload, drive=False)


@step
def inspectRun(run):
    return {"runId": run.run_id, "status": run.status(), "value": run.result()}


@step
def passRun(run):
    return run


def _client(drive: bool):
    from pathlib import Path

    from wfctl.client import Client
    from wfctl.streams import default_world

    return Client(app=Path(__file__).parent, world=default_world(), drive=drive)


@step
def spawnChild(v):
    # The run id comes from the step's id: a retried step finds the run it already created.
    run_id = "wrun_" + get_step_metadata().step_id.removeprefix("step_")
    with _client(drive=False) as client:
        try:
            client.start("double", v, run_id=run_id)
        except Exception:
            client.get_run(run_id)  # created by an earlier attempt (else this raises)
    return run_id


@step
def awaitChildResult(run_id):
    with _client(drive=True) as client:
        return client.run(run_id).result(timeout=60)
