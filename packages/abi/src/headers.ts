// Which C header says what. The guest kernel and its drivers include these (the switcher
// too, from assembly); they follow the split of the 2.6.23 headers where one existed
// (lguest.h, lguest_launcher.h), with one header per device protocol beside them and
// `lguest/abi.h` to include them all. Every exported constant and struct of this package
// appears in exactly one header — a test holds us to that.

import {
  BOOT_PARAMS, COMMAND_LINE_SIZE, E820ENTRY, E820MAX, E820_RAM, LGUEST_BOOT_CS, LGUEST_BOOT_DS,
  LGUEST_BOOT_EFLAGS, LGUEST_BOOT_PARAMS_ADDR, LGUEST_CMDLINE_ADDR, LGUEST_HARDWARE_SUBARCH,
  LGUEST_LOADER_TYPE, LGUEST_SIGNATURE, LGUEST_SIGNATURE_LEN,
} from './boot';
import {
  LGUEST_BLOCK_F_READONLY, LGUEST_BLOCK_FLUSH, LGUEST_BLOCK_PAGE, LGUEST_BLOCK_READ, LGUEST_BLOCK_RESULT_ERROR, LGUEST_BLOCK_RESULT_OK,
  LGUEST_BLOCK_RESULT_PENDING, LGUEST_BLOCK_SECTOR_SIZE, LGUEST_BLOCK_WRITE,
} from './block';
import { LGUEST_CONSOLE_DMA_KEY, LGUEST_CONSOLE_INBUF_SIZE } from './console';
import { renderHeader, renderTypesHeader, TYPES_HEADER, type HeaderSpec } from './c-header';
import {
  DESC_PTR, DESC_STRUCT, FIRST_EXTERNAL_VECTOR, GDT_ENTRIES, GDT_ENTRY_DEFAULT_USER_CS,
  GDT_ENTRY_DEFAULT_USER_DS, GDT_ENTRY_DOUBLEFAULT_TSS, GDT_ENTRY_ESPFIX_SS, GDT_ENTRY_KERNEL_CS,
  GDT_ENTRY_KERNEL_DS, GDT_ENTRY_LDT, GDT_ENTRY_LGUEST_CS, GDT_ENTRY_LGUEST_DS, GDT_ENTRY_PERCPU,
  GDT_ENTRY_TLS_ENTRIES, GDT_ENTRY_TLS_MAX, GDT_ENTRY_TLS_MIN, GDT_ENTRY_TSS, GDT_SIZE, I386_HW_TSS,
  IDT_ENTRIES, LGUEST_CS, LGUEST_DS, PAGE_SHIFT, PAGE_SIZE, PGDIR_SHIFT, PTRS_PER_PGD, PTRS_PER_PTE,
  SYSCALL_VECTOR, TSS_SELECTOR, X86_CR0_TS, X86_EFLAGS_IF, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_GLOBAL,
  _PAGE_KERNEL, _KERNPG_TABLE, _PAGE_PCD, _PAGE_PRESENT, _PAGE_PSE, _PAGE_PWT, _PAGE_RW, _PAGE_TABLE, _PAGE_USER,
  __KERNEL_CS, __KERNEL_DS, __KERNEL_PERCPU, __USER_CS, __USER_DS,
} from './i386';
import {
  LGUEST_DEVICE_DESC, LGUEST_DEVICE_F_RANDOMNESS, LGUEST_DEVICE_S_ACKNOWLEDGE, LGUEST_DEVICE_S_DRIVER,
  LGUEST_DEVICE_S_DRIVER_OK, LGUEST_DEVICE_S_FAILED, LGUEST_DEVICE_S_REMOVED, LGUEST_DEVICE_S_REMOVED_ACK,
  LGUEST_DEVICE_T_BLOCK, LGUEST_DEVICE_T_CONSOLE, LGUEST_DEVICE_T_NET, LGUEST_DMA, LGUEST_MAX_DEVICES,
  LGUEST_MAX_DMA, LGUEST_MAX_DMA_SECTIONS, LHREQ_BREAK, LHREQ_GETDMA, LHREQ_INITIALIZE, LHREQ_IRQ,
} from './launcher';
import {
  GUEST_PL, HCALL_RING, LGUEST_ABI_VERSION, LGUEST_CRASH_MSG_SIZE, LGUEST_DATA, LGUEST_IRQS,
  LGUEST_RESERVE_MEM, LGUEST_TRAP_ENTRY, LG_CLOCK_MAX_DELTA, LG_CLOCK_MIN_DELTA, LHCALL_BIND_DMA,
  LHCALL_CRASH, LHCALL_FLUSH_ASYNC, LHCALL_FLUSH_TLB, LHCALL_HALT, LHCALL_LGUEST_INIT,
  LHCALL_LOAD_GDT, LHCALL_LOAD_IDT_ENTRY, LHCALL_LOAD_TLS, LHCALL_NEW_PGTABLE, LHCALL_RING_SIZE,
  LHCALL_SEND_DMA, LHCALL_SET_CLOCKEVENT, LHCALL_SET_PMD, LHCALL_SET_PTE, LHCALL_SET_STACK,
  LHCALL_STATUS_FREE, LHCALL_STATUS_PENDING, LHCALL_TS, MAX_LGUEST_GUESTS, TIMESPEC,
} from './lguest';
import {
  LGUEST_NET, LGUEST_NET_F_NOCSUM, LGUEST_NET_MAX_PACKET, LGUEST_NET_MAX_PEERS, LGUEST_NET_MIN_PACKET,
  LGUEST_NET_PROMISC_BIT, NET_PEERNUM,
} from './net';
import {
  LGUEST_PAGES, LGUEST_PAGES_guest_gdt, LGUEST_PAGES_guest_gdt_desc, LGUEST_PAGES_guest_idt_desc,
  LGUEST_PAGES_host_cr3, LGUEST_PAGES_host_gdt_desc, LGUEST_PAGES_host_idt_desc, LGUEST_PAGES_host_sp,
  LGUEST_PAGES_regs_errcode, LGUEST_PAGES_regs_trapnum, LGUEST_REGS, LGUEST_RO_STATE,
  SHARED_SWITCHER_PAGES, SWITCHER_ADDR, SWITCHER_PGD_INDEX,
} from './switcher';
import type { Layout } from './struct';

export const HEADERS: readonly HeaderSpec[] = [
  {
    path: 'lguest/i386.h',
    doc: 'The i386 and Linux facts lguest builds on: paging, the GDT layout with the host-owned entries, selectors, and the descriptor-table and TSS structures the switcher loads.',
    groups: [
      { title: 'Two-level paging', values: { PAGE_SHIFT, PAGE_SIZE, PGDIR_SHIFT, PTRS_PER_PGD, PTRS_PER_PTE } },
      {
        title: 'Page table entry flags',
        hex: true,
        values: {
          _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, _PAGE_PWT, _PAGE_PCD, _PAGE_ACCESSED, _PAGE_DIRTY,
          _PAGE_PSE, _PAGE_GLOBAL, _PAGE_TABLE, _PAGE_KERNEL, _KERNPG_TABLE,
        },
      },
      { title: 'EFLAGS and CR0 bits', hex: true, values: { X86_EFLAGS_IF, X86_CR0_TS } },
      {
        title: 'GDT entries (10, 11, 16 and 31 belong to the host)',
        values: {
          GDT_ENTRIES, GDT_SIZE, GDT_ENTRY_TLS_MIN, GDT_ENTRY_TLS_ENTRIES, GDT_ENTRY_TLS_MAX,
          GDT_ENTRY_LGUEST_CS, GDT_ENTRY_LGUEST_DS, GDT_ENTRY_KERNEL_CS, GDT_ENTRY_KERNEL_DS,
          GDT_ENTRY_DEFAULT_USER_CS, GDT_ENTRY_DEFAULT_USER_DS, GDT_ENTRY_TSS, GDT_ENTRY_LDT,
          GDT_ENTRY_ESPFIX_SS, GDT_ENTRY_PERCPU, GDT_ENTRY_DOUBLEFAULT_TSS,
        },
      },
      {
        title: 'Selectors (the guest kernel ORs GUEST_PL into the kernel ones)',
        hex: true,
        values: { LGUEST_CS, LGUEST_DS, __KERNEL_CS, __KERNEL_DS, __KERNEL_PERCPU, __USER_CS, __USER_DS, TSS_SELECTOR },
      },
      { title: 'Interrupt vectors', hex: true, values: { IDT_ENTRIES, FIRST_EXTERNAL_VECTOR, SYSCALL_VECTOR } },
    ],
    structs: [DESC_STRUCT, DESC_PTR, I386_HW_TSS],
  },
  {
    path: 'lguest/lguest.h',
    doc: 'The guest/host contract (include/linux/lguest.h in 2.6.23): the hypercall trap and numbers, the asynchronous hypercall ring, and struct lguest_data, which the guest shares with the host.',
    groups: [
      { title: 'The hypercall trap: int $LGUEST_TRAP_ENTRY, call number in %eax, arguments in %edx, %ebx, %ecx', hex: true, values: { LGUEST_TRAP_ENTRY } },
      {
        title: 'Hypercall numbers (11 is unused)',
        values: {
          LHCALL_FLUSH_ASYNC, LHCALL_LGUEST_INIT, LHCALL_CRASH, LHCALL_LOAD_GDT, LHCALL_NEW_PGTABLE,
          LHCALL_FLUSH_TLB, LHCALL_LOAD_IDT_ENTRY, LHCALL_SET_STACK, LHCALL_TS, LHCALL_SET_CLOCKEVENT,
          LHCALL_HALT, LHCALL_BIND_DMA, LHCALL_SEND_DMA, LHCALL_SET_PTE, LHCALL_SET_PMD, LHCALL_LOAD_TLS,
        },
      },
      { title: 'The asynchronous hypercall ring', values: { LHCALL_RING_SIZE, LHCALL_STATUS_FREE, LHCALL_STATUS_PENDING } },
      { title: 'Guest privilege, interrupts and limits', values: { GUEST_PL, LGUEST_IRQS, MAX_LGUEST_GUESTS, LGUEST_CRASH_MSG_SIZE } },
      { title: 'Memory the guest must leave to the switcher (lguest_data.reserve_mem)', hex: true, values: { LGUEST_RESERVE_MEM } },
      { title: 'The guest clockevent, in nanoseconds', values: { LG_CLOCK_MIN_DELTA, LG_CLOCK_MAX_DELTA } },
    ],
    structs: [TIMESPEC, HCALL_RING, LGUEST_DATA],
  },
  {
    path: 'lguest/lguest_launcher.h',
    doc: 'What the Launcher, the host and the guest bus share (include/linux/lguest_launcher.h in 2.6.23): control-file requests, DMA descriptors, and the device descriptor page at guest-physical mem. A device in slot i interrupts on IRQ i + 1.',
    groups: [
      { title: 'Control-file write requests (a u32 request word, then u32 arguments)', values: { LHREQ_INITIALIZE, LHREQ_GETDMA, LHREQ_IRQ, LHREQ_BREAK } },
      { title: 'DMA limits', values: { LGUEST_MAX_DMA, LGUEST_MAX_DMA_SECTIONS, LGUEST_MAX_DEVICES } },
      { title: 'Device types (0 is an empty slot)', values: { LGUEST_DEVICE_T_CONSOLE, LGUEST_DEVICE_T_NET, LGUEST_DEVICE_T_BLOCK } },
      {
        title: 'Device status bits',
        values: {
          LGUEST_DEVICE_S_ACKNOWLEDGE, LGUEST_DEVICE_S_DRIVER, LGUEST_DEVICE_S_DRIVER_OK,
          LGUEST_DEVICE_S_REMOVED, LGUEST_DEVICE_S_REMOVED_ACK, LGUEST_DEVICE_S_FAILED,
        },
      },
      { title: 'Device feature bits common to all devices', hex: true, values: { LGUEST_DEVICE_F_RANDOMNESS } },
    ],
    structs: [LGUEST_DMA, LGUEST_DEVICE_DESC],
  },
  {
    path: 'lguest/switcher.h',
    doc: 'The switcher: its address in every address space and the per-CPU pair of pages it runs on (drivers/lguest/lg.h in 2.6.23), with the asm-offsets names the switcher assembly uses.',
    groups: [
      { title: 'Where the switcher lives', hex: true, values: { SWITCHER_ADDR } },
      { title: 'Its page-directory slot and code pages', values: { SWITCHER_PGD_INDEX, SHARED_SWITCHER_PAGES } },
      {
        title: 'Offsets into struct lguest_pages, under their 2.6.23 asm-offsets names',
        values: {
          LGUEST_PAGES_host_cr3, LGUEST_PAGES_host_idt_desc, LGUEST_PAGES_host_gdt_desc,
          LGUEST_PAGES_host_sp, LGUEST_PAGES_guest_idt_desc, LGUEST_PAGES_guest_gdt_desc,
          LGUEST_PAGES_guest_gdt, LGUEST_PAGES_regs_trapnum, LGUEST_PAGES_regs_errcode,
        },
      },
    ],
    structs: [LGUEST_REGS, LGUEST_RO_STATE, LGUEST_PAGES],
  },
  {
    path: 'lguest/boot.h',
    doc: 'How a guest starts: the GenuineLguest signature before its entry point, the zero page and command line the Launcher writes, and the registers it starts with.',
    groups: [
      { title: 'The signature the Launcher scans the image for (no NUL in the image)', values: { LGUEST_SIGNATURE, LGUEST_SIGNATURE_LEN } },
      { title: 'Guest-physical addresses of the zero page and the command line', hex: true, values: { LGUEST_BOOT_PARAMS_ADDR, LGUEST_CMDLINE_ADDR } },
      { title: 'Bytes of command line the guest copies', values: { COMMAND_LINE_SIZE } },
      { title: 'Values the Launcher writes into the zero page', values: { E820_RAM, E820MAX, LGUEST_LOADER_TYPE, LGUEST_HARDWARE_SUBARCH } },
      { title: 'Initial registers (everything else starts at 0)', hex: true, values: { LGUEST_BOOT_CS, LGUEST_BOOT_DS, LGUEST_BOOT_EFLAGS } },
    ],
    structs: [E820ENTRY, BOOT_PARAMS],
  },
  {
    path: 'lguest/console.h',
    doc: 'The console protocol: output is a SEND_DMA to LGUEST_CONSOLE_DMA_KEY; input lands in one buffer bound at that key with the console IRQ.',
    groups: [{ title: 'Console keys and buffers', values: { LGUEST_CONSOLE_DMA_KEY, LGUEST_CONSOLE_INBUF_SIZE } }],
    structs: [],
  },
  {
    path: 'lguest/block.h',
    doc: 'The block device protocol: one request at a time in struct lguest_block_page at the start of the device page, whose address is also the DMA key.',
    groups: [
      { title: 'Request types (FLUSH is ours: fdatasync of the disk; 2.6.23 has only READ and WRITE)', values: { LGUEST_BLOCK_READ, LGUEST_BLOCK_WRITE, LGUEST_BLOCK_FLUSH } },
      { title: 'Descriptor feature bit (ours): the disk is served read-only', values: { LGUEST_BLOCK_F_READONLY } },
      { title: 'Results', values: { LGUEST_BLOCK_RESULT_PENDING, LGUEST_BLOCK_RESULT_OK, LGUEST_BLOCK_RESULT_ERROR } },
      { title: 'Sector size', values: { LGUEST_BLOCK_SECTOR_SIZE } },
    ],
    structs: [LGUEST_BLOCK_PAGE],
  },
  {
    path: 'lguest/net.h',
    doc: 'The network protocol: the device page is an array of struct lguest_net MAC slots; peer n receives at key page + 4 * n; a guest own slot is features & (num_pages * PAGE_SIZE - 1).',
    groups: [
      { title: 'Feature bits', hex: true, values: { LGUEST_NET_F_NOCSUM } },
      { title: 'MAC slots', hex: true, values: { LGUEST_NET_PROMISC_BIT } },
      { title: 'Peers and frame sizes', values: { NET_PEERNUM, LGUEST_NET_MAX_PEERS, LGUEST_NET_MIN_PACKET, LGUEST_NET_MAX_PACKET } },
    ],
    structs: [LGUEST_NET],
  },
];

/** The umbrella header, including every other one. */
export const ABI_HEADER: HeaderSpec = {
  path: 'lguest/abi.h',
  doc: 'The whole lguest ABI (Linux 2.6.23, DMA era) as described by @lguest/abi.',
  includes: HEADERS.map((h) => h.path),
  groups: [{ title: 'The kernel release this ABI is', values: { LGUEST_ABI_VERSION } }],
  structs: [],
};

/** Every generated file: path below the include directory, and its text. */
export function generateHeaders(): { path: string; text: string }[] {
  const homes = new Map<Layout, string>();
  for (const header of HEADERS) {
    for (const struct of header.structs) {
      if (homes.has(struct)) throw new Error(`struct ${struct.name} is in two headers`);
      homes.set(struct, header.path);
    }
  }
  return [
    { path: TYPES_HEADER, text: renderTypesHeader() },
    ...[...HEADERS, ABI_HEADER].map((spec) => ({ path: spec.path, text: renderHeader(spec, homes) })),
  ];
}
