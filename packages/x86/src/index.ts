export * from './contract';
export { cores, findCore } from './cores';
export { interpreter } from './interp/index';
