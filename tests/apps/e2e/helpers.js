// A helper module imported by workflows.js (catalogue #36: cross-file errors).
// Only workflows.js exports are workflows; these functions are plain helpers.

function throwError() {
  throw new Error("Error from imported helper module");
}

export function callThrower() {
  throwError();
}
