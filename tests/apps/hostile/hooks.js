import { createHook } from "workflow";

export async function waitHook(token) {
  const v = await createHook({ token });
  return v;
}
