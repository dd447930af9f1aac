export const LABEL = "v1";
