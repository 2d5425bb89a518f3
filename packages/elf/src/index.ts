// @lguest/elf: the one ELF32 reader (README.md). Imports nothing.
export * from './elf32';
