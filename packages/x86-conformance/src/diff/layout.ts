// Where a differential test case lives, the same on both sides. The native runner maps these
// addresses into its Linux process with mmap(MAP_FIXED) and the core harness places the same
// bytes at the same physical (= linear, paging is off) addresses, so every address an
// instruction can observe — a pushed return address, a fault EIP, an effective address —
// is equal in both worlds.
//
//   DATA_BASE  64 KiB data area. Three LDT segments have it as their base: a 32-bit and a
//              16-bit one with limit 0xFFFF (a 16-bit effective address through them can never
//              leave the area) and a 16-bit expand-down one valid above DOWN_LIMIT.
//   REGION     the compared scratch bytes inside it (REGION_SIZE bytes at REGION_OFFSET).
//   CODE_BASE  one page the snippet is copied into, at a per-case offset.
//   GUARD_READONLY, GUARD_ABSENT  the two pages below the data area: one a user may read but
//              not write (present, read-only), then one not present. A stack that runs down
//              out of the data area meets them, and PUSH, CALL, ENTER, POP and LEAVE raise
//              #PF there with the error code the page's state gives (7, 6, 4).
//
// The core maps exactly these pages for CPL 3 (paging on, as under Linux); every other page
// is not present on both sides.

export const DATA_BASE = 0x0010_0000;
export const DATA_SIZE = 0x1_0000;
export const REGION_OFFSET = 0x1000;
export const REGION_SIZE = 256;
export const REGION_BASE = DATA_BASE + REGION_OFFSET;
export const CODE_BASE = 0x0011_0000;
export const CODE_SIZE = 0x2000;
export const GUARD_READONLY = DATA_BASE - 0x1000;
export const GUARD_ABSENT = DATA_BASE - 0x2000;
/** The user data selector of an x86-64 Linux process (__USER_DS), which the core harness
 *  also runs the long-mode cases under: the segment loads of the long-mode oracle name it. */
export const LONG_MODE_USER_DS = 0x2b;
/** Bytes of code copied per case: the snippet, the way back, padding (INT3). */
export const CODE_WINDOW = 64;
/** Snippet offsets stay below this, so the window stays inside the first code page. */
export const CODE_OFFSET_LIMIT = 4096 - CODE_WINDOW;
/** Longest snippet; the native way back (`jmp *abs32`, 6 bytes) must fit behind it. */
export const SNIPPET_MAX = CODE_WINDOW - 6;

/** LDT entry 0, table indicator set, RPL 3: the segment over the data area (B = 1). */
export const LDT_SELECTOR = 0x07;
/** LDT entry 1: the same bytes as a 16-bit (B = 0) stack segment. */
export const LDT16_SELECTOR = 0x0f;
/** LDT entry 2: the same bytes as an expand-down 16-bit segment; offsets above DOWN_LIMIT
 *  (up to 0xFFFF) are valid, so the region is inside it and the bottom 4 KiB is not. */
export const LDT_DOWN_SELECTOR = 0x17;
export const DOWN_LIMIT = 0x0fff;

/** Registers in the order both record formats use: the ModRM numbering. */
export const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'] as const;
export const EAX = 0;
export const ECX = 1;
export const EDX = 2;
export const EBX = 3;
export const ESP = 4;
export const EBP = 5;
export const ESI = 6;
export const EDI = 7;

/**
 * The per-case input record (little-endian dwords):
 *   0   eax ecx edx ebx esp ebp esi edi
 *   32  eflags           36  region fill seed   40  ES selector   44  code offset
 *   48  patch count      52  patches: PATCH_MAX × (region offset, dword)   248  SS   252  GS
 *   IN_CODE  the code window (CODE_WINDOW bytes)
 */
export const PATCH_MAX = 24;
export const IN_EFLAGS = 32;
export const IN_SEED = 36;
export const IN_ES = 40;
export const IN_CODE_OFFSET = 44;
export const IN_PATCH_COUNT = 48;
export const IN_PATCHES = 52;
/** SS selector (0: flat user data) and GS selector; after the patches. */
export const IN_SS = 248;
export const IN_GS = 252;
export const IN_CODE = 256;
export const IN_SIZE = IN_CODE + CODE_WINDOW;

/**
 * The per-case output record:
 *   0   eax … edi (at the end of the snippet, or at the fault)
 *   32  eflags   36 vector (0xFFFFFFFF: none)   40 error code   44 fault EIP   48 signal
 *   OUT_REGION  the region after the case;  OUT_EDGES  the data area's edges after it
 */
export const OUT_EFLAGS = 32;
export const OUT_VECTOR = 36;
export const OUT_ERROR = 40;
export const OUT_EIP = 44;
export const OUT_SIGNAL = 48;
export const OUT_REGION = 64;
/** The data area's first and last EDGE_SIZE bytes: zeroed before each case and compared
 *  after it, because accesses at a segment's limit and 16-bit wrap-arounds land there. */
export const EDGE_SIZE = 16;
export const OUT_EDGES = OUT_REGION + REGION_SIZE;
export const OUT_SIZE = OUT_EDGES + 2 * EDGE_SIZE;
export const NO_VECTOR = 0xffffffff;

/** EFLAGS bits a CPL-3 program can see change: OSZAPC, TF, IF, DF, IOPL, NT, AC, ID. */
export const EFLAGS_VISIBLE = 0x0024_7fd5;
export const EFLAGS_IF = 0x200;
export const EFLAGS_DF = 0x400;
export const EFLAGS_RESERVED = 0x2;
