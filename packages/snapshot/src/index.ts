// @lguest/snapshot: the formats a saved guest travels in — a snapshot file or a migration
// stream of checksummed sections, and the encoding of guest pages in them. It knows nothing
// of what the sections mean: the CLI fills them from lg, the launcher and the devices.
export * from './format';
export * from './pages';
