// The descriptions against the reference: every number below is typed in from
// docs/lguest-abi.md, not computed, so a wrong description fails here even though the C
// headers generated from it would agree with it (that agreement is layout.test.ts's job).

import * as abi from './index';
import type { Layout } from './struct';

function offsets(struct: Layout): Record<string, number> {
  return Object.fromEntries(struct.fields.map((f) => [f.name, f.offset]));
}

describe('lguest-abi.md §1.2: switcher placement and per-CPU pages', () => {
  it('struct lguest_regs is 18 u32s in the switcher push order (72 bytes)', () => {
    expect(offsets(abi.LGUEST_REGS)).toEqual({
      ebx: 0, ecx: 4, edx: 8, esi: 12, edi: 16, ebp: 20, gs: 24, eax: 28, fs: 32, ds: 36, es: 40,
      trapnum: 44, errcode: 48, eip: 52, cs: 56, eflags: 60, esp: 64, ss: 68,
    });
    expect(abi.LGUEST_REGS.size).toBe(72);
  });

  it('struct lguest_pages: regs at the top of page A, read-only state in page B', () => {
    const p = abi.LGUEST_PAGES;
    expect(p.size).toBe(8192);
    expect(p.align).toBe(4096);
    expect(p.offsetOf.regs).toBe(0x0fb8);
    expect(p.offset('regs.trapnum')).toBe(0xfe4);
    expect(p.offset('regs.errcode')).toBe(0xfe8);
    expect(p.offsetOf.state).toBe(0x1000);
    expect(p.offset('state.host_cr3')).toBe(0x1000);
    expect(p.offset('state.host_idt_desc')).toBe(0x1004);
    expect(p.offset('state.host_gdt_desc')).toBe(0x100c);
    expect(p.offset('state.host_sp')).toBe(0x1014);
    expect(p.offset('state.guest_idt_desc')).toBe(0x1018);
    expect(p.offset('state.guest_gdt_desc')).toBe(0x1020);
    expect(p.offset('state.guest_tss')).toBe(0x1028);
    expect(p.offset('state.guest_idt')).toBe(0x1090);
    expect(p.offset('state.guest_gdt')).toBe(0x1890);
    expect(p.offsetOf.state + abi.LGUEST_RO_STATE.size).toBe(0x1990);
  });

  it('exports the asm-offsets names with the same offsets', () => {
    expect([abi.LGUEST_PAGES_host_cr3, abi.LGUEST_PAGES_host_idt_desc, abi.LGUEST_PAGES_host_gdt_desc]).toEqual([4096, 4100, 4108]);
    expect([abi.LGUEST_PAGES_host_sp, abi.LGUEST_PAGES_guest_idt_desc, abi.LGUEST_PAGES_guest_gdt_desc]).toEqual([4116, 4120, 4128]);
    expect([abi.LGUEST_PAGES_guest_gdt, abi.LGUEST_PAGES_regs_trapnum, abi.LGUEST_PAGES_regs_errcode]).toEqual([6288, 4068, 4072]);
  });

  it('places the switcher at the top 4 MiB and CPU n pages after one code page', () => {
    expect(abi.SWITCHER_ADDR).toBe(0xffc00000);
    expect(abi.SWITCHER_PGD_INDEX).toBe(1023);
    expect(abi.SWITCHER_ADDR >>> abi.PGDIR_SHIFT).toBe(abi.SWITCHER_PGD_INDEX);
    expect(abi.lguestPagesAddr(0)).toBe(0xffc01000);
    expect(abi.lguestPagesAddr(0) + abi.LGUEST_PAGES.offsetOf.state).toBe(0xffc02000);
    expect(abi.lguestPagesAddr(1)).toBe(0xffc03000);
  });

  it('descriptor pointers are 8 packed bytes and the TSS is the 104-byte hardware one', () => {
    expect(abi.DESC_PTR.size).toBe(8);
    expect(offsets(abi.DESC_PTR)).toEqual({ size: 0, address: 2, pad: 6 });
    expect(abi.DESC_STRUCT.size).toBe(8);
    const tss = abi.I386_HW_TSS;
    expect(tss.size).toBe(104);
    expect([tss.offsetOf.esp0, tss.offsetOf.ss0, tss.offsetOf.esp1, tss.offsetOf.ss1]).toEqual([4, 8, 12, 16]);
    expect([tss.offsetOf.cr3, tss.offsetOf.eip, tss.offsetOf.eflags]).toEqual([28, 32, 36]);
    expect([tss.offsetOf.es, tss.offsetOf.ldt, tss.offsetOf.io_bitmap_base]).toEqual([72, 96, 102]);
  });
});

describe('lguest-abi.md §1.5–§1.6: segments and vectors', () => {
  it('GDT entries and selectors', () => {
    expect([abi.GDT_ENTRIES, abi.GDT_SIZE]).toEqual([32, 256]);
    expect([abi.GDT_ENTRY_TLS_MIN, abi.GDT_ENTRY_TLS_ENTRIES, abi.GDT_ENTRY_TLS_MAX]).toEqual([6, 3, 8]);
    expect([abi.GDT_ENTRY_LGUEST_CS, abi.GDT_ENTRY_LGUEST_DS, abi.LGUEST_CS, abi.LGUEST_DS]).toEqual([10, 11, 0x50, 0x58]);
    expect([abi.GDT_ENTRY_KERNEL_CS, abi.GDT_ENTRY_KERNEL_DS, abi.__KERNEL_CS, abi.__KERNEL_DS]).toEqual([12, 13, 0x60, 0x68]);
    expect([abi.GDT_ENTRY_DEFAULT_USER_CS, abi.GDT_ENTRY_DEFAULT_USER_DS]).toEqual([14, 15]);
    expect([abi.__USER_CS, abi.__USER_DS]).toEqual([0x73, 0x7b]);
    expect([abi.GDT_ENTRY_TSS, abi.TSS_SELECTOR, abi.GDT_ENTRY_LDT]).toEqual([16, 0x80, 17]);
    expect([abi.GDT_ENTRY_ESPFIX_SS, abi.GDT_ENTRY_PERCPU, abi.GDT_ENTRY_DOUBLEFAULT_TSS]).toEqual([26, 27, 31]);
  });

  it('hypercall trap and interrupt vectors', () => {
    expect(abi.LGUEST_TRAP_ENTRY).toBe(0x1f);
    expect([abi.IDT_ENTRIES, abi.FIRST_EXTERNAL_VECTOR, abi.SYSCALL_VECTOR]).toEqual([256, 32, 0x80]);
    expect(abi.LGUEST_IRQS).toBe(32);
    expect(abi.GUEST_PL).toBe(1);
  });
});

describe('lguest-abi.md §2: hypercalls and lguest_data', () => {
  it('hypercall numbers 0..16 with 11 unused', () => {
    expect({
      FLUSH_ASYNC: abi.LHCALL_FLUSH_ASYNC, LGUEST_INIT: abi.LHCALL_LGUEST_INIT, CRASH: abi.LHCALL_CRASH,
      LOAD_GDT: abi.LHCALL_LOAD_GDT, NEW_PGTABLE: abi.LHCALL_NEW_PGTABLE, FLUSH_TLB: abi.LHCALL_FLUSH_TLB,
      LOAD_IDT_ENTRY: abi.LHCALL_LOAD_IDT_ENTRY, SET_STACK: abi.LHCALL_SET_STACK, TS: abi.LHCALL_TS,
      SET_CLOCKEVENT: abi.LHCALL_SET_CLOCKEVENT, HALT: abi.LHCALL_HALT, BIND_DMA: abi.LHCALL_BIND_DMA,
      SEND_DMA: abi.LHCALL_SEND_DMA, SET_PTE: abi.LHCALL_SET_PTE, SET_PMD: abi.LHCALL_SET_PMD,
      LOAD_TLS: abi.LHCALL_LOAD_TLS,
    }).toEqual({
      FLUSH_ASYNC: 0, LGUEST_INIT: 1, CRASH: 2, LOAD_GDT: 3, NEW_PGTABLE: 4, FLUSH_TLB: 5, LOAD_IDT_ENTRY: 6,
      SET_STACK: 7, TS: 8, SET_CLOCKEVENT: 9, HALT: 10, BIND_DMA: 12, SEND_DMA: 13, SET_PTE: 14, SET_PMD: 15,
      LOAD_TLS: 16,
    });
  });

  it('the async ring: 64 entries of {eax, edx, ebx, ecx}, 0xFF = free', () => {
    expect(abi.LHCALL_RING_SIZE).toBe(64);
    expect([abi.LHCALL_STATUS_FREE, abi.LHCALL_STATUS_PENDING]).toEqual([0xff, 0]);
    expect(offsets(abi.HCALL_RING)).toEqual({ eax: 0, edx: 4, ebx: 8, ecx: 12 });
    expect(abi.HCALL_RING.size).toBe(16);
  });

  it('struct lguest_data: the §2.4 offsets, 1128 bytes', () => {
    expect(offsets(abi.LGUEST_DATA)).toEqual({
      irq_enabled: 0, blocked_interrupts: 4, cr2: 8, time: 12, hcall_status: 20, hcalls: 84,
      reserve_mem: 1108, guestid: 1112, tsc_khz: 1116, noirq_start: 1120, noirq_end: 1124,
    });
    expect(abi.LGUEST_DATA.offset('time.tv_sec')).toBe(12);
    expect(abi.LGUEST_DATA.offset('time.tv_nsec')).toBe(16);
    expect(abi.LGUEST_DATA.f.hcall_status.size).toBe(64);
    expect(abi.LGUEST_DATA.f.hcalls.size).toBe(1024);
    expect(abi.LGUEST_DATA.f.guestid.size).toBe(2);
    expect(abi.LGUEST_DATA.size).toBe(1128);
  });

  it('host-written values and clock limits', () => {
    expect(abi.LGUEST_RESERVE_MEM).toBe(4 * 1024 * 1024);
    expect(abi.MAX_LGUEST_GUESTS).toBe(16);
    expect(abi.LGUEST_CRASH_MSG_SIZE).toBe(128);
    expect([abi.LG_CLOCK_MIN_DELTA, abi.LG_CLOCK_MAX_DELTA]).toEqual([100, 0xffffffff]);
    expect(abi.X86_EFLAGS_IF).toBe(0x200);
  });
});

describe('lguest-abi.md §3: boot protocol and the control file', () => {
  it('boot parameter offsets in the zero page', () => {
    const b = abi.BOOT_PARAMS;
    expect(b.size).toBe(4096);
    expect(b.offsetOf.e820_entries).toBe(0x1e8);
    expect(b.offsetOf.e820_map).toBe(0x2d0);
    expect(b.offsetOf.type_of_loader).toBe(0x210);
    expect(b.offsetOf.ramdisk_image).toBe(0x218);
    expect(b.offsetOf.ramdisk_size).toBe(0x21c);
    expect(b.offsetOf.cmd_line_ptr).toBe(0x228);
    expect(b.offsetOf.hardware_subarch).toBe(0x23c);
    expect(abi.E820ENTRY.size).toBe(20);
    expect(offsets(abi.E820ENTRY)).toEqual({ addr: 0, size: 8, type: 16 });
    expect(abi.E820_RAM).toBe(1);
    expect([abi.LGUEST_LOADER_TYPE, abi.LGUEST_HARDWARE_SUBARCH]).toEqual([0xff, 1]);
  });

  it('signature, command line and initial registers', () => {
    expect(abi.LGUEST_SIGNATURE).toBe('GenuineLguest');
    expect(abi.LGUEST_SIGNATURE_LEN).toBe(13);
    expect([abi.LGUEST_BOOT_PARAMS_ADDR, abi.LGUEST_CMDLINE_ADDR, abi.COMMAND_LINE_SIZE]).toEqual([0, 0x1000, 2048]);
    expect([abi.LGUEST_BOOT_CS, abi.LGUEST_BOOT_DS, abi.LGUEST_BOOT_EFLAGS]).toEqual([0x61, 0x69, 0x202]);
  });

  it('control-file requests', () => {
    expect([abi.LHREQ_INITIALIZE, abi.LHREQ_GETDMA, abi.LHREQ_IRQ, abi.LHREQ_BREAK]).toEqual([0, 1, 2, 3]);
  });
});

describe('lguest-abi.md §5.3: page-table flags', () => {
  it('i386 flag values and the composite masks', () => {
    expect([abi._PAGE_PRESENT, abi._PAGE_RW, abi._PAGE_USER, abi._PAGE_PWT, abi._PAGE_PCD]).toEqual([1, 2, 4, 8, 0x10]);
    expect([abi._PAGE_ACCESSED, abi._PAGE_DIRTY, abi._PAGE_PSE, abi._PAGE_GLOBAL]).toEqual([0x20, 0x40, 0x80, 0x100]);
    expect([abi._PAGE_TABLE, abi._PAGE_KERNEL]).toEqual([0x067, 0x063]);
    expect([abi.PAGE_SIZE, abi.PAGE_SHIFT, abi.PTRS_PER_PGD, abi.PTRS_PER_PTE]).toEqual([4096, 12, 1024, 1024]);
    expect(abi.X86_CR0_TS).toBe(8);
  });
});

describe('lguest-abi.md §6: DMA, devices and their protocols', () => {
  it('struct lguest_dma: 100 bytes, used_len, addr[16], len[16]', () => {
    expect([abi.LGUEST_MAX_DMA, abi.LGUEST_MAX_DMA_SECTIONS, abi.LGUEST_MAX_DEVICES]).toEqual([32, 16, 16]);
    expect(offsets(abi.LGUEST_DMA)).toEqual({ used_len: 0, addr: 4, len: 68 });
    expect(abi.LGUEST_DMA.size).toBe(100);
  });

  it('struct lguest_device_desc: 12 bytes; types, status and feature bits', () => {
    expect(offsets(abi.LGUEST_DEVICE_DESC)).toEqual({ type: 0, features: 2, status: 4, num_pages: 6, pfn: 8 });
    expect(abi.LGUEST_DEVICE_DESC.size).toBe(12);
    expect([abi.LGUEST_DEVICE_T_CONSOLE, abi.LGUEST_DEVICE_T_NET, abi.LGUEST_DEVICE_T_BLOCK]).toEqual([1, 2, 3]);
    expect([
      abi.LGUEST_DEVICE_S_ACKNOWLEDGE, abi.LGUEST_DEVICE_S_DRIVER, abi.LGUEST_DEVICE_S_DRIVER_OK,
      abi.LGUEST_DEVICE_S_REMOVED, abi.LGUEST_DEVICE_S_REMOVED_ACK, abi.LGUEST_DEVICE_S_FAILED,
    ]).toEqual([1, 2, 4, 8, 16, 128]);
    expect([abi.LGUEST_NET_F_NOCSUM, abi.LGUEST_DEVICE_F_RANDOMNESS]).toEqual([0x4000, 0x8000]);
    expect([abi.deviceIrq(0), abi.deviceIrq(15)]).toEqual([1, 16]);
  });

  it('console: key 0, one 256-byte input buffer', () => {
    expect([abi.LGUEST_CONSOLE_DMA_KEY, abi.LGUEST_CONSOLE_INBUF_SIZE]).toEqual([0, 256]);
  });

  it('struct lguest_block_page: 20 bytes; request types and results', () => {
    expect(offsets(abi.LGUEST_BLOCK_PAGE)).toEqual({ type: 0, sector: 4, bytes: 8, result: 12, num_sectors: 16 });
    expect(abi.LGUEST_BLOCK_PAGE.size).toBe(20);
    expect([abi.LGUEST_BLOCK_READ, abi.LGUEST_BLOCK_WRITE, abi.LGUEST_BLOCK_FLUSH]).toEqual([0, 1, 2]);
    expect([abi.LGUEST_BLOCK_RESULT_PENDING, abi.LGUEST_BLOCK_RESULT_OK, abi.LGUEST_BLOCK_RESULT_ERROR]).toEqual([0, 1, 2]);
    expect(abi.LGUEST_BLOCK_SECTOR_SIZE).toBe(512);
  });

  it('network: 6-byte MAC slots, 682 to a page, keys 4 bytes apart', () => {
    expect(abi.LGUEST_NET.size).toBe(6);
    expect(abi.LGUEST_NET_MAX_PEERS).toBe(682);
    expect(abi.NET_PEERNUM).toBe(1);
    expect(abi.LGUEST_NET_PROMISC_BIT).toBe(1);
    expect([abi.LGUEST_NET_MIN_PACKET, abi.LGUEST_NET_MAX_PACKET]).toEqual([14, 1514]);
    expect(abi.netPeerKey(0x4001000, 3)).toBe(0x400100c);
    expect(abi.netSlot(5 | abi.LGUEST_NET_F_NOCSUM, 1)).toBe(5);
  });
});

it('names the release it describes', () => {
  expect(abi.LGUEST_ABI_VERSION).toBe('2.6.23');
});
