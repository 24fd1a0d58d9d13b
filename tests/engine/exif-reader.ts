/**
 * A small EXIF reader for the tests, sharing no code with engine/photo/exif.ts, so that what the
 * engine writes is checked by something other than itself.
 */

/** The tags of an EXIF block or TIFF file: `ifd0.271`, `exif.36867`, `gps.2`; ASCII as strings, SHORT/LONG as numbers, others 'present'. */
export function readTags(input: Uint8Array): Map<string, string | number> {
  let b = Buffer.from(input);
  if (b.subarray(0, 6).toString('latin1') === 'Exif\0\0') b = b.subarray(6);
  const le = b.toString('latin1', 0, 2) === 'II';
  const u16 = (o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const tags = new Map<string, string | number>();
  const walk = (name: string, offset: number): void => {
    const count = u16(offset);
    for (let i = 0; i < count; i++) {
      const at = offset + 2 + 12 * i;
      const [tag, type, cnt] = [u16(at), u16(at + 2), u32(at + 4)];
      if (name === 'ifd0' && tag === 34665) walk('exif', u32(at + 8));
      else if (name === 'ifd0' && tag === 34853) walk('gps', u32(at + 8));
      else if (type === 2) {
        const start = cnt <= 4 ? at + 8 : u32(at + 8);
        tags.set(`${name}.${tag}`, b.toString('latin1', start, start + cnt).replace(/\0+$/, ''));
      } else if (type === 3 && cnt === 1) tags.set(`${name}.${tag}`, u16(at + 8));
      else if (type === 4 && cnt === 1) tags.set(`${name}.${tag}`, u32(at + 8));
      else tags.set(`${name}.${tag}`, 'present');
    }
  };
  walk('ifd0', u32(4));
  return tags;
}
