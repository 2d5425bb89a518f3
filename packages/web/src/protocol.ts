// What the server and the page say to each other over the WebSocket, as JSON text frames.
// This module is shared by both sides, so it imports nothing.

/** What a page of memory is, as the pictures colour it (values below 0x20). */
export const Kind = {
  None: 0,
  /** Guest-physical frame the guest has not mapped. */
  Free: 1,
  /** Mapped by the guest kernel only (supervisor pages). */
  Kernel: 2,
  /** Mapped by a user program (user pages). */
  User: 3,
  /** A guest page directory or page table. */
  PageTable: 4,
  /** The device descriptor page and device pages above guest RAM. */
  Device: 5,
  /** A buffer the guest has bound for DMA. */
  Dma: 6,
  /** The switcher and this CPU's pages, at 0xFFC00000. */
  Switcher: 7,
  /** The launcher's region that is guest RAM (host view). */
  GuestRam: 8,
  /** The launcher's own pages (host view). */
  Launcher: 9,
  /** The host kernel's mappings from 0xC0000000 (host view). */
  HostKernel: 10,
  /** Mapped by the launcher (mmap) but not touched yet: no page behind it (host view). */
  Reserved: 11,
} as const;
export type KindValue = (typeof Kind)[keyof typeof Kind];

/** Added to a page's kind: it appeared since the last sample (faulted in). */
export const FLASH_FAULTED = 0x80;
/** Added to a page's kind: the guest's accessed bit came on since the last sample. */
export const FLASH_TOUCHED = 0x40;

/** The hypercalls of the 2.6.23 ABI by number (packages/abi; a test keeps them equal). */
export const HCALL_NAMES: readonly (string | undefined)[] = [
  'FLUSH_ASYNC',
  'LGUEST_INIT',
  'CRASH',
  'LOAD_GDT',
  'NEW_PGTABLE',
  'FLUSH_TLB',
  'LOAD_IDT_ENTRY',
  'SET_STACK',
  'TS',
  'SET_CLOCKEVENT',
  'HALT',
  undefined,
  'BIND_DMA',
  'SEND_DMA',
  'SET_PTE',
  'SET_PMD',
  'LOAD_TLS',
];

export type Picture = 'host' | 'phys' | 'guest' | 'shadow';

/** 1024 pages from `base`, one byte each (kind | flash bits), base64. */
export interface MapRow {
  readonly base: number;
  readonly pages: string;
}

export interface GuestSample {
  readonly name: string;
  /** 'starting', 'running', 'dead: REASON', or how it ended. */
  readonly state: string;
  /** Running totals. */
  readonly totals: {
    readonly switches: number;
    readonly hypercalls: number;
    readonly traps: number;
    readonly irqs: number;
    readonly hostIrqs: number;
    readonly launcherDmas: number;
    readonly faults: number;
  };
  /** Exits by trap number, and hypercalls by name, since boot. */
  readonly traps: Readonly<Record<number, number>>;
  readonly hcalls: Readonly<Record<string, number>>;
  /** World switches since the last sample, by reason. */
  readonly delta: {
    readonly hypercalls: number;
    readonly pageFaults: number;
    readonly traps: number;
    readonly hostIrqs: number;
    readonly irqs: number;
    readonly launcherDmas: number;
  };
  readonly hcallDelta: Readonly<Record<string, number>>;
  /** Frames this guest's SEND_DMAs put straight into other guests' buffers (lg's copy), by receiver. */
  readonly dmaTo: readonly DmaFlow[];
  /** Wall-clock seconds the deltas cover. */
  readonly seconds: number;
  readonly maps: Readonly<Record<Picture, readonly MapRow[]>> | null;
}

/** DMA from one guest into another (a --sharenet frame that lg copied): totals and since the last sample. */
export interface DmaFlow {
  /** The receiver: its index among the page's guests. */
  readonly to: number;
  readonly frames: number;
  readonly bytes: number;
  readonly framesDelta: number;
  readonly bytesDelta: number;
}

export type ServerMessage =
  | { readonly type: 'hello'; readonly guests: readonly string[] }
  | { readonly type: 'console'; readonly guest: number; readonly data: string }
  | {
      readonly type: 'sample';
      readonly instructions: number;
      readonly instructionsDelta: number;
      readonly guests: readonly GuestSample[];
    }
  | { readonly type: 'ended'; readonly guest: number; readonly how: string };

export type ClientMessage = { readonly type: 'input'; readonly guest: number; readonly data: string };
