"""Steps of the streams example: writers arrive as `wfctl.StreamWriter` arguments."""

from wfctl import StreamWriter, step


@step
def narrate(out: StreamWriter, line: str | None) -> None:
    if line is None:
        out.close()
    else:
        out.write(line + "\n")


@step
def summarize(out: StreamWriter, topic: str) -> str:
    with out:  # closed when the block ends without an exception
        words = [f"{topic}:", "durable", "streams", "of", "tokens"]
        for w in words:
            out.write(w + " ")  # one chunk per "token", durable when write() returns
    return " ".join(words)
