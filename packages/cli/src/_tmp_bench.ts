import { diskBench } from './bench-disk';
const r = await diskBench('/work/wt-disk', { verbose: false, clock: 'host', cpu: 'interpreter', memoryHostMiB: null, timeoutS: null }, 1, (l) => console.error(l));
console.log(JSON.stringify(r));
