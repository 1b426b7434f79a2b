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

/**
 * BatchWriteItem takes at most 16 MB a request, counted on the wire (the JSON body), not by the item size rule: binary
 * travels as base64 (4/3 of its bytes) and every value carries its type wrapper, so 25 items within the 400 KB limit
 * can together exceed it (a list of many small numbers weighs about three times its item size on the wire).
 */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/**
 * An upper bound of the bytes an item takes in a request body: names and strings quoted (escapes counted at their
 * worst), binary in base64, each value in its `{"T":...}`
 * wrapper with its separator.
 */
export function wireSize(item: AttributeMap): number {
  let size = 2;
  for (const name of Object.keys(item)) size += jsonStringSize(name) + 2 + valueWireSize(item[name] as AttributeValue);
  return size;
}

function valueWireSize(value: AttributeValue): number {
  const wrapper = 8;
  if (value.S !== undefined) return wrapper + jsonStringSize(value.S);
  if (value.N !== undefined) return wrapper + value.N.length + 2;
  if (value.B !== undefined) return wrapper + base64Size(value.B.byteLength);
  if (value.SS !== undefined) return wrapper + value.SS.reduce((sum, s) => sum + jsonStringSize(s) + 1, 2);
  if (value.NS !== undefined) return wrapper + value.NS.reduce((sum, n) => sum + n.length + 3, 2);
  if (value.BS !== undefined) return wrapper + value.BS.reduce((sum, b) => sum + base64Size(b.byteLength) + 1, 2);
  if (value.M !== undefined) return wrapper + wireSize(value.M);
  if (value.L !== undefined) return wrapper + value.L.reduce((sum, v) => sum + valueWireSize(v) + 1, 2);
  return wrapper + 5;
}

/** Characters JSON escapes: a quote, a backslash, and control characters. */
// eslint-disable-next-line no-control-regex -- control characters are what JSON escapes, so what it counts
const ESCAPED = /["\\\u0000-\u001f]/g;

/**
 * A JSON string's bytes at most: its UTF-8 bytes, its quotes, and five more for each character JSON escapes (a control
 * character becomes `\u00XX`), counted by one native search rather than character by character.
 */
function jsonStringSize(text: string): number {
  const escaped = text.match(ESCAPED);
  return Buffer.byteLength(text) + 2 + (escaped === null ? 0 : 5 * escaped.length);
}

function base64Size(bytes: number): number {
  return Math.ceil(bytes / 3) * 4 + 2;
}
