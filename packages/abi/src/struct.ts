// C structs described in TypeScript. Every structure that crosses the guest/host/Launcher
// boundary — lguest_data in the guest's memory, a DMA descriptor, the register page the
// switcher fills — is written down once here as a list of fields, and everything else is
// derived from that list: the byte offsets, with the i386 ILP32 rules gcc uses for
// `gcc -m32`; the C `struct` in the generated headers; and accessors that the lg module
// and the Launcher use to read and write the structure where it lives, in guest memory.
//
// The i386 rules, in brief: a scalar member is aligned to its size, except that 64-bit
// integers are aligned to 4 inside structs; a struct is aligned to its most aligned member
// and padded to a multiple of that; `packed` makes every member byte aligned; `align`
// (gcc's `aligned(N)`) raises the struct's alignment and so its padded size.

/** The scalar member types: fixed-width integers, as the generated headers typedef them. */
export type ScalarType = 'u8' | 's8' | 'u16' | 's16' | 'u32' | 's32' | 'u64' | 's64';

/** A member's type: a scalar, or another described struct (a nested struct member). */
export type MemberType = ScalarType | Layout;

/** One member in a struct description: name, type and, for an array member, its length. */
export type FieldSpec =
  | readonly [name: string, type: MemberType]
  | readonly [name: string, type: MemberType, count: number];

export interface StructOptions {
  /** gcc's `__attribute__((packed))`: no padding anywhere, struct alignment 1. */
  readonly packed?: boolean;
  /** gcc's `__attribute__((aligned(N)))` on the struct; a power of two. */
  readonly align?: number;
  /** One or two sentences for the comment above the struct in the generated header. */
  readonly doc?: string;
}

/** A laid-out member. */
export interface FieldLayout {
  readonly name: string;
  readonly type: MemberType;
  /** Array length, or undefined for a plain (non-array) member. */
  readonly count: number | undefined;
  /** Byte offset from the start of the struct. */
  readonly offset: number;
  /** Size of one element (of the member itself when it is not an array). */
  readonly stride: number;
  /** Size of the whole member: stride × (count ?? 1). */
  readonly size: number;
}

/** What the header generator and the layout test need of any struct, field types erased. */
export interface Layout {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly packed: boolean;
  /** The `aligned(N)` attribute, if any. */
  readonly alignAttr: number | undefined;
  readonly doc: string | undefined;
  readonly fields: readonly FieldLayout[];
  /**
   * Offset of a member path such as `time.tv_nsec`, `hcalls[3].ebx` or `addr[15]`.
   * Throws on a path that does not name a member; meant for start-up, not for hot paths.
   */
  offset(path: string): number;
}

/** Accessor for a scalar member (or every element of a scalar array). */
export interface ScalarField<V> {
  readonly offset: number;
  readonly size: number;
  /** Array length; 1 for a plain member. */
  readonly count: number;
  readonly stride: number;
  /** Reads element `index` (default 0) of this member of the struct at `base` in `view`. */
  get(view: DataView, base: number, index?: number): V;
  /** Writes element `index` (default 0). Numbers are stored modulo 2^bits. */
  set(view: DataView, base: number, value: V, index?: number): void;
}

/** Handle on a nested-struct member: where it is and what is inside it. */
export interface StructField<S extends Layout> {
  readonly offset: number;
  readonly size: number;
  readonly count: number;
  readonly stride: number;
  readonly struct: S;
  /** Offset of element `index` from the start of the enclosing struct. */
  at(index: number): number;
}

type ScalarValue<T extends ScalarType> = T extends 'u64' | 's64' ? bigint : number;

type ElementValue<T> = T extends ScalarType
  ? ScalarValue<T>
  : T extends { read(view: DataView, base: number): infer V }
    ? V
    : never;

type FieldValue<S> = S extends readonly [string, infer T, number]
  ? ElementValue<T>[]
  : S extends readonly [string, infer T]
    ? ElementValue<T>
    : never;

type FieldAccessor<S> = S extends readonly [string, infer T, ...unknown[]]
  ? T extends ScalarType
    ? ScalarField<ScalarValue<T>>
    : T extends Layout
      ? StructField<T>
      : never
  : never;

/** A struct's value as a plain object: numbers, bigints for 64-bit members, arrays. */
export type StructValue<F extends readonly FieldSpec[]> = {
  -readonly [S in F[number] as S[0]]: FieldValue<S>;
};

/** A value for `write`: any subset of members; arrays may be shorter than the member. */
export type PartialValue<V> = V extends readonly (infer E)[]
  ? readonly PartialValue<E>[]
  : V extends object
    ? { readonly [K in keyof V]?: PartialValue<V[K]> }
    : V;

/** A described struct with typed, name-checked offsets and accessors. */
export interface Struct<F extends readonly FieldSpec[]> extends Layout {
  /** Offset of each top-level member, e.g. `LGUEST_DATA.offsetOf.irq_enabled`. */
  readonly offsetOf: { readonly [S in F[number] as S[0]]: number };
  /** Accessor for each top-level member, e.g. `LGUEST_DATA.f.cr2.set(view, base, addr)`. */
  readonly f: { readonly [S in F[number] as S[0]]: FieldAccessor<S> };
  /** The whole struct as a plain object (allocates; for tests, traces and set-up). */
  read(view: DataView, base: number): StructValue<F>;
  /** Writes the members present in `value`, leaving the others as they are. */
  write(view: DataView, base: number, value: PartialValue<StructValue<F>>): void;
  /** Zeroes all `size` bytes of the struct. */
  zero(view: DataView, base: number): void;
}

const SCALAR_SIZE: Readonly<Record<ScalarType, number>> = {
  u8: 1, s8: 1, u16: 2, s16: 2, u32: 4, s32: 4, u64: 8, s64: 8,
};

// i386 System V: 64-bit integers align to 4 as struct members (not 8 as on x86-64).
const SCALAR_ALIGN: Readonly<Record<ScalarType, number>> = {
  u8: 1, s8: 1, u16: 2, s16: 2, u32: 4, s32: 4, u64: 4, s64: 4,
};

export function isScalar(type: MemberType): type is ScalarType {
  return typeof type === 'string';
}

/** Size in bytes of one element of `type`. */
export function sizeOfType(type: MemberType): number {
  return isScalar(type) ? SCALAR_SIZE[type] : type.size;
}

/** Natural (unpacked) alignment of `type` as a struct member on i386. */
export function alignOfType(type: MemberType): number {
  return isScalar(type) ? SCALAR_ALIGN[type] : type.align;
}

const C_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function roundUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/**
 * Describes a C struct: lays out `fields` in order with the i386 rules and returns the
 * struct with its offsets and accessors. Throws on a malformed description (bad or
 * duplicate names, bad array lengths, an alignment that is not a power of two).
 */
export function defineStruct<const F extends readonly FieldSpec[]>(
  name: string,
  fields: F,
  options: StructOptions = {},
): Struct<F> {
  const packed = options.packed ?? false;
  const alignAttr = options.align;
  if (!C_IDENTIFIER.test(name)) throw new Error(`defineStruct: '${name}' is not a C identifier`);
  if (fields.length === 0) throw new Error(`defineStruct ${name}: a struct needs at least one field`);
  if (alignAttr !== undefined && !isPowerOfTwo(alignAttr)) {
    throw new Error(`defineStruct ${name}: align ${alignAttr} is not a power of two`);
  }

  const laid: FieldLayout[] = [];
  const seen = new Set<string>();
  let offset = 0;
  let align = 1;
  for (const [fieldName, type, count] of fields) {
    if (!C_IDENTIFIER.test(fieldName)) {
      throw new Error(`defineStruct ${name}: '${fieldName}' is not a C identifier`);
    }
    if (seen.has(fieldName)) throw new Error(`defineStruct ${name}: duplicate field '${fieldName}'`);
    seen.add(fieldName);
    if (count !== undefined && !(Number.isInteger(count) && count > 0)) {
      throw new Error(`defineStruct ${name}.${fieldName}: array length ${count} must be a positive integer`);
    }
    const stride = sizeOfType(type);
    const fieldAlign = packed ? 1 : alignOfType(type);
    offset = roundUp(offset, fieldAlign);
    const size = stride * (count ?? 1);
    laid.push({ name: fieldName, type, count, offset, stride, size });
    offset += size;
    align = Math.max(align, fieldAlign);
  }
  if (alignAttr !== undefined) align = Math.max(align, alignAttr);
  const size = roundUp(offset, align);

  const byName = new Map(laid.map((field) => [field.name, field]));
  const offsetOf: Record<string, number> = {};
  const accessors: Record<string, ScalarField<number> | ScalarField<bigint> | StructField<Layout>> = {};
  for (const field of laid) {
    offsetOf[field.name] = field.offset;
    accessors[field.name] = isScalar(field.type)
      ? scalarField(`${name}.${field.name}`, field.type, field.offset, field.count ?? 1)
      : structField(field, field.type);
  }

  const layout: Layout = {
    name,
    size,
    align,
    packed,
    alignAttr,
    doc: options.doc,
    fields: laid,
    offset: (path: string) => pathOffset(layout, path),
  };
  const struct = {
    ...layout,
    offset: layout.offset,
    offsetOf: Object.freeze(offsetOf),
    f: Object.freeze(accessors),
    read: (view: DataView, base: number) => readStruct(layout, view, base),
    write: (view: DataView, base: number, value: object) => writeStruct(layout, byName, view, base, value),
    zero: (view: DataView, base: number) => {
      new Uint8Array(view.buffer, view.byteOffset + base, size).fill(0);
    },
  };
  // The runtime object is built from the same `laid` list the types are computed from;
  // the cast only restores the per-field types that a loop cannot express.
  return Object.freeze(struct) as unknown as Struct<F>;
}

function checkIndex(what: string, index: number, count: number): number {
  if (index >>> 0 !== index || index >= count) {
    throw new RangeError(`${what}: index ${index} outside 0..${count - 1}`);
  }
  return index;
}

// One accessor per member, specialised on its type so each get/set is a single DataView
// call on a constant offset: no allocation, no dispatch on the type at run time. (`num` and
// `big` only give the literals below their contextual types.)
const num = (field: ScalarField<number>) => field;
const big = (field: ScalarField<bigint>) => field;

function scalarField(
  what: string,
  type: ScalarType,
  offset: number,
  count: number,
): ScalarField<number> | ScalarField<bigint> {
  const stride = SCALAR_SIZE[type];
  const shape = { offset, size: stride * count, count, stride };
  const at = (base: number, index: number) => base + offset + stride * checkIndex(what, index, count);
  switch (type) {
    case 'u8':
      return num({ ...shape, get: (v, b, i = 0) => v.getUint8(at(b, i)), set: (v, b, x, i = 0) => v.setUint8(at(b, i), x) });
    case 's8':
      return num({ ...shape, get: (v, b, i = 0) => v.getInt8(at(b, i)), set: (v, b, x, i = 0) => v.setInt8(at(b, i), x) });
    case 'u16':
      return num({
        ...shape,
        get: (v, b, i = 0) => v.getUint16(at(b, i), true),
        set: (v, b, x, i = 0) => v.setUint16(at(b, i), x, true),
      });
    case 's16':
      return num({
        ...shape,
        get: (v, b, i = 0) => v.getInt16(at(b, i), true),
        set: (v, b, x, i = 0) => v.setInt16(at(b, i), x, true),
      });
    case 'u32':
      return num({
        ...shape,
        get: (v, b, i = 0) => v.getUint32(at(b, i), true),
        set: (v, b, x, i = 0) => v.setUint32(at(b, i), x, true),
      });
    case 's32':
      return num({
        ...shape,
        get: (v, b, i = 0) => v.getInt32(at(b, i), true),
        set: (v, b, x, i = 0) => v.setInt32(at(b, i), x, true),
      });
    case 'u64':
      return big({
        ...shape,
        get: (v, b, i = 0) => v.getBigUint64(at(b, i), true),
        set: (v, b, x, i = 0) => v.setBigUint64(at(b, i), x, true),
      });
    case 's64':
      return big({
        ...shape,
        get: (v, b, i = 0) => v.getBigInt64(at(b, i), true),
        set: (v, b, x, i = 0) => v.setBigInt64(at(b, i), x, true),
      });
  }
}

function structField(field: FieldLayout, struct: Layout): StructField<Layout> {
  const count = field.count ?? 1;
  const what = field.name;
  return {
    offset: field.offset,
    size: field.size,
    count,
    stride: field.stride,
    struct,
    at: (index: number) => field.offset + field.stride * checkIndex(what, index, count),
  };
}

const PATH_STEP = /^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$/;

function pathOffset(layout: Layout, path: string): number {
  let current: Layout | undefined = layout;
  let offset = 0;
  for (const step of path.split('.')) {
    const match = PATH_STEP.exec(step);
    const field: FieldLayout | undefined = match ? current?.fields.find((f) => f.name === match[1]) : undefined;
    if (!match || !field) throw new Error(`struct ${layout.name} has no member '${path}'`);
    offset += field.offset;
    if (match[2] !== undefined) {
      const index = Number(match[2]);
      if (field.count === undefined || index >= field.count) {
        throw new Error(`struct ${layout.name}: '${path}' indexes outside ${field.name}`);
      }
      offset += index * field.stride;
    }
    current = isScalar(field.type) ? undefined : field.type;
  }
  return offset;
}

function readElement(type: MemberType, view: DataView, at: number): number | bigint | object {
  if (!isScalar(type)) return readStruct(type, view, at);
  switch (type) {
    case 'u8': return view.getUint8(at);
    case 's8': return view.getInt8(at);
    case 'u16': return view.getUint16(at, true);
    case 's16': return view.getInt16(at, true);
    case 'u32': return view.getUint32(at, true);
    case 's32': return view.getInt32(at, true);
    case 'u64': return view.getBigUint64(at, true);
    case 's64': return view.getBigInt64(at, true);
  }
}

function readStruct(layout: Layout, view: DataView, base: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of layout.fields) {
    const at = base + field.offset;
    out[field.name] =
      field.count === undefined
        ? readElement(field.type, view, at)
        : Array.from({ length: field.count }, (_, i) => readElement(field.type, view, at + i * field.stride));
  }
  return out;
}

function writeElement(what: string, type: MemberType, view: DataView, at: number, value: unknown): void {
  if (!isScalar(type)) {
    if (typeof value !== 'object' || value === null) throw new TypeError(`${what}: expected an object`);
    writeStruct(type, new Map(type.fields.map((f) => [f.name, f])), view, at, value);
    return;
  }
  const wide = type === 'u64' || type === 's64';
  if (wide ? typeof value !== 'bigint' : typeof value !== 'number') {
    throw new TypeError(`${what}: expected a ${wide ? 'bigint' : 'number'} for ${type}, got ${typeof value}`);
  }
  switch (type) {
    case 'u8': return view.setUint8(at, value as number);
    case 's8': return view.setInt8(at, value as number);
    case 'u16': return view.setUint16(at, value as number, true);
    case 's16': return view.setInt16(at, value as number, true);
    case 'u32': return view.setUint32(at, value as number, true);
    case 's32': return view.setInt32(at, value as number, true);
    case 'u64': return view.setBigUint64(at, value as bigint, true);
    case 's64': return view.setBigInt64(at, value as bigint, true);
  }
}

function writeStruct(
  layout: Layout,
  byName: ReadonlyMap<string, FieldLayout>,
  view: DataView,
  base: number,
  value: object,
): void {
  for (const [name, member] of Object.entries(value)) {
    if (member === undefined) continue;
    const field = byName.get(name);
    if (!field) throw new Error(`struct ${layout.name} has no member '${name}'`);
    const what = `${layout.name}.${name}`;
    const at = base + field.offset;
    if (field.count === undefined) {
      writeElement(what, field.type, view, at, member);
      continue;
    }
    if (!Array.isArray(member)) throw new TypeError(`${what}: expected an array`);
    if (member.length > field.count) {
      throw new RangeError(`${what}: ${member.length} elements for an array of ${field.count}`);
    }
    member.forEach((element: unknown, i) => writeElement(`${what}[${i}]`, field.type, view, at + i * field.stride, element));
  }
}
