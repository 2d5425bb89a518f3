// @lguest/x86-conformance: the test kit every CPU core must pass (architecture §10).
export * from './sst/data';
export * from './sst/differences';
export * from './sst/moo';
export * from './sst/report';
export * from './sst/runner';
export * from './sst/shape';
export * from './sst/suite';
export * from './i386-host';
