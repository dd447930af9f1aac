export const UNUSED = 1;
