// Writes the Lambda deployment package: a zip holding only `index.mjs`, stored (not deflated) with a fixed date
// (1980-01-01 00:00) and mode (0644), so that the same bundle always gives the same bytes, whatever the machine, the
// Node.js version or the file's own times. The module deploys this committed file (`filename` and
// `source_code_hash = filebase64sha256(...)`): a plan saved on one machine applies on another, which a zip written at
// plan time under `.terraform` does not allow.
import { readFileSync, writeFileSync } from 'node:fs';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Zips `bundlePath` as `index.mjs` into `zipPath`, byte for byte the same for the same bundle. */
export function writeLambdaPackage(bundlePath, zipPath) {
  const data = readFileSync(bundlePath);
  const name = Buffer.from('index.mjs');
  const crc = crc32(data);
  const dosDate = (0 << 9) | (1 << 5) | 1; // 1980-01-01, the earliest date a zip can hold
  const unixMode = 0o100644;

  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(10, 4); // version needed: 1.0, stored
  local.writeUInt16LE(0, 6); // flags
  local.writeUInt16LE(0, 8); // method: stored
  local.writeUInt16LE(0, 10); // time
  local.writeUInt16LE(dosDate, 12);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  local.writeUInt16LE(0, 28); // extra field length

  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0 (so that the mode below is read)
  central.writeUInt16LE(10, 6);
  central.writeUInt16LE(0, 8);
  central.writeUInt16LE(0, 10);
  central.writeUInt16LE(0, 12);
  central.writeUInt16LE(dosDate, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt16LE(0, 30); // extra
  central.writeUInt16LE(0, 32); // comment
  central.writeUInt16LE(0, 34); // disk
  central.writeUInt16LE(0, 36); // internal attributes
  central.writeUInt32LE((unixMode << 16) >>> 0, 38);
  central.writeUInt32LE(0, 42); // offset of the local header

  const centralOffset = local.length + name.length + data.length;
  const centralSize = central.length + name.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(centralOffset, 16);
  end.writeUInt16LE(0, 20);

  writeFileSync(zipPath, Buffer.concat([local, name, data, central, name, end]));
}

// `node scripts/lambda-package.mjs` writes dist/lambda/function.zip from the committed bundle alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  writeLambdaPackage('dist/lambda/index.mjs', 'dist/lambda/function.zip');
}
