import { PAGE_BYTES, PageSetWriter, readPageSet } from './pages';

describe('page sets', () => {
  it('keep page contents, and zero pages as bare numbers', () => {
    const w = new PageSetWriter();
    const page = new Uint8Array(PAGE_BYTES);
    w.add(3, page);
    page[17] = 0x5a;
    w.add(9, page);
    page[17] = 0; // add() copied
    const data = w.finish();
    expect(data.length).toBe(4 + 4 + 4 + PAGE_BYTES);
    expect([w.dataPages, w.zeroPages]).toEqual([1, 1]);
    const seen: [number, number | null][] = [];
    expect(readPageSet(data, 10, (pfn, bytes) => seen.push([pfn, bytes ? bytes[17] : null]))).toBe(2);
    expect(seen).toEqual([
      [3, null],
      [9, 0x5a],
    ]);
  });

  it('refuse a page beyond the guest and a payload that does not add up', () => {
    const w = new PageSetWriter();
    w.add(12, new Uint8Array(PAGE_BYTES).fill(1));
    const data = w.finish();
    expect(() => readPageSet(data, 12, () => {})).toThrow(/page 12 is beyond the guest's 12 pages/);
    expect(() => readPageSet(data.subarray(0, 100), 20, () => {})).toThrow(/ends inside page 12/);
  });
});
