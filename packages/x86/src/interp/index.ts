import type { CoreFactory, Machine } from '../contract';
import { Cpu } from './cpu';

/** The reference interpreter: a 486-class integer core with full protected mode. */
export const interpreter: CoreFactory = {
  name: 'interpreter',
  description: 'reference i386/i486 interpreter (integer unit, protected mode, paging, V86)',
  create: (machine: Machine) => new Cpu(machine),
};
