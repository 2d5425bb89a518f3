export const ABI_VERSION = "2.6.23";
