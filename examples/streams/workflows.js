// Streams and child workflows: a "research" run streams progress while child runs summarize
// each topic; the parent collects their return values.
import { useStep, getWritable, start } from "workflow";

const narrate = useStep("narrate");
const summarize = useStep("summarize");

export async function research(topics) {
  const progress = getWritable({ namespace: "progress" });
  const runs = [];
  for (const topic of topics) runs.push(await start(summarizeTopic, [topic]));
  const summaries = [];
  for (const run of runs) {
    summaries.push(await run.returnValue);
    await narrate(progress, `done: ${summaries.length}/${runs.length}`);
  }
  await narrate(progress, null); // null closes the stream
  return summaries;
}

export async function summarizeTopic(topic) {
  return await summarize(getWritable(), topic);
}
