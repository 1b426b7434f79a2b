import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { AttributeMap } from './types';

/** DynamoDB's item size limit: 400 KB, attribute names included. */
export const MAX_ITEM_BYTES = 400 * 1024;

/**
 * The size of an item as DynamoDB counts it against its 400 KB limit, rounded up where DynamoDB's rule is
 * approximate (numbers): names and strings in UTF-8 bytes, binary in bytes, one byte per list or map element and
 * three per list or map.
 */
export function itemSize(item: AttributeMap): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  // DynamoDB stores up to 38 significant digits in about one byte per two digits, plus one.
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + Buffer.byteLength(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.byteLength, 0);
  if (value.M !== undefined) return 3 + Object.entries(value.M).reduce((sum, [name, v]) => sum + 1 + Buffer.byteLength(name) + valueSize(v), 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
  return 1;
}

function numberSize(text: string): number {
  return Math.ceil(text.replace(/\D/g, '').length / 2) + 1;
}
