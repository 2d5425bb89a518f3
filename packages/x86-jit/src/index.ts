export { jit, JitCpu, Block, COMPILE_THRESHOLD } from './core';
export { scanBlock, translate, compilable, MAX_BLOCK_INSTRUCTIONS } from './compile';
export type { Translation, BlockCode } from './compile';
export { Lockstep, compareStates } from './lockstep';
export type { Divergence, LockstepResult, LockstepOptions } from './lockstep';
