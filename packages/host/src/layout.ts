// Where the host kernel's CPU-visible state lives. Before a guest ever runs, the switcher
// has to find a real host here: a page directory with the kernel's linear map above
// PAGE_OFFSET, a 32-entry GDT in the Linux 2.6.23 i386 layout, an IDT, a TSS and a kernel
// stack. lg copies the descriptors of these tables into the switcher's read-only page, the
// switcher reloads them on every return from a guest, and the host IDT is where
// deliver_to_host jumps for a real interrupt. These numbers are that map.
// (lguest-abi.md §1.2, §1.5, §1.9; README "Memory layout".)

// The i386 and Linux 2.6.23 facts the host shares with the lguest ABI (paging bits, the GDT
// layout and its selectors, table sizes) are defined once, in @lguest/abi's i386.ts; what
// follows is only the host's own map.
import { GDT_ENTRIES, IDT_ENTRIES, I386_HW_TSS, PAGE_SIZE, PGDIR_SHIFT } from '@lguest/abi';
export {
  PAGE_SIZE,
  PAGE_SHIFT,
  PGDIR_SHIFT,
  PTRS_PER_PGD,
  PTRS_PER_PTE,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
  _PAGE_PWT,
  _PAGE_PCD,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PSE,
  _PAGE_GLOBAL,
  _PAGE_TABLE,
  _PAGE_KERNEL,
  _KERNPG_TABLE,
  IDT_ENTRIES,
  GDT_ENTRIES,
  GDT_ENTRY_TLS_MIN,
  GDT_ENTRY_LGUEST_CS,
  GDT_ENTRY_LGUEST_DS,
  GDT_ENTRY_KERNEL_CS,
  GDT_ENTRY_KERNEL_DS,
  GDT_ENTRY_DEFAULT_USER_CS,
  GDT_ENTRY_DEFAULT_USER_DS,
  GDT_ENTRY_TSS,
  GDT_ENTRY_LDT,
  GDT_ENTRY_ESPFIX_SS,
  GDT_ENTRY_PERCPU,
  GDT_ENTRY_DOUBLEFAULT_TSS,
  __KERNEL_CS,
  __KERNEL_DS,
  __USER_CS,
  __USER_DS,
  __KERNEL_PERCPU,
  TSS_SELECTOR,
  LGUEST_CS,
  LGUEST_DS,
  X86_EFLAGS_IF,
  SWITCHER_ADDR,
  SWITCHER_PGD_INDEX,
} from '@lguest/abi';

/** Kernel text: present, accessed, read-only (CR0.WP makes ring 0 honour it). */
export const _PAGE_KERNEL_RX = 0x021;

// --- The 3G/1G split ---

/** Where the kernel's linear map of physical memory starts. */
export const PAGE_OFFSET = 0xc0000000;
/** User space ends where the kernel begins. */
export const TASK_SIZE = 0xc0000000;
/** Physical memory the linear map covers (lowmem); frames above it are highmem. */
export const LOWMEM_LIMIT = 896 << 20;
/** First page-directory slot of the kernel half. */
export const KERNEL_PGD_INDEX = PAGE_OFFSET >>> PGDIR_SHIFT; // 768
/** The top 4 MiB (SWITCHER_PGD_INDEX, SWITCHER_ADDR): left free by the host, mapped by lg for the switcher. */
/** Where mmap without MAP_FIXED starts looking, downwards (Linux's flexible layout). */
export const MMAP_BASE = 0xb8000000;

// --- Physical frames the host reserves at boot (everything else is the page allocator's) ---

/** Frame 0 is never handed out, so a physical address of 0 always means "none". */
export const FRAME_NULL = 0;
/** swapper_pg_dir: the host page directory, and the template of every process's kernel half. */
export const FRAME_SWAPPER_PGDIR = 1;
/** The CPU tables page: IDT, GDT, TSS and the host's small data slots. */
export const FRAME_CPU_TABLES = 2;
/** Host entry text: the 256 interrupt stubs, 16 bytes each. */
export const FRAME_ENTRY_STUBS = 3;
/** Host entry text: the kernel-call return stub. */
export const FRAME_ENTRY_TEXT = 4;
/** The kernel stack: two frames (THREAD_SIZE = 8 KiB). */
export const FRAME_KERNEL_STACK = 5;
export const KERNEL_STACK_FRAMES = 2;
/** The page tables of the linear map start here, one per 4 MiB of lowmem. */
export const FRAME_LINEAR_MAP_PTES = 7;

// Offsets inside the CPU tables page.
export const IDT_OFFSET = 0x000; // 256 gates × 8 = 2048 bytes
export const GDT_OFFSET = 0x800; // 32 descriptors × 8 = 256 bytes
export const TSS_OFFSET = 0x900; // i386 hardware TSS, 104 bytes
/** Byte the interrupt stubs store their vector into before escaping. */
export const IRQ_VECTOR_SLOT_OFFSET = 0xa00;
/** Where the return stub saves eax, ecx, edx, ebx, esi, edi, ebp, eflags, cr2 (9 dwords). */
export const CALL_SAVE_OFFSET = 0xa10;

/** Physical address of a frame. */
export function frameAddress(frame: number): number {
  return frame * PAGE_SIZE;
}

export const IDT_LIMIT = IDT_ENTRIES * 8 - 1;
export const GDT_LIMIT = GDT_ENTRIES * 8 - 1;
export const TSS_SIZE = I386_HW_TSS.size;
/** Bytes per interrupt stub; stub for vector v is at the stubs page + v * 16. */
export const IRQ_STUB_SIZE = 16;

// --- Control registers of host kernel context ---

/** PE | MP | ET | NE | WP | AM | PG, as head.S leaves a 486+ (TS clear). */
export const HOST_CR0 = 0x80050033;
/** No PSE (the linear map uses 4 KiB pages) and no PGE (lg requires global pages off). */
export const HOST_CR4 = 0;
/** EFLAGS of kernel code called from TypeScript unless the caller says otherwise: IF set. */
export const KERNEL_EFLAGS = 0x202;

// --- Host escapes (0F 04 ib) the host's own code uses ---

/** The kernel-call return stub: the called routine returned to the host. */
export const ESC_RETURN = 0x00;
/** An interrupt stub: the vector is in the IRQ vector slot. */
export const ESC_INTERRUPT = 0x01;
/** Escape codes 0x00–0x0F are the host's; other packages may use the rest. */
export const ESC_HOST_LAST = 0x0f;

/** The host timer interrupt (IRQ 0 through the legacy PIC mapping). */
export const TIMER_VECTOR = 0x20;
/** CPU exceptions that push an error code. */
export function hasErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17;
}
