import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { AttributeMap } from './types';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Turns an image from a Lambda stream event into what the SDK writes.
 *
 * In the Lambda payload binary values (`B`, `BS`, and any nested in `M` or `L`) are base64 strings; the SDK wants
 * bytes, and would encode a string once more, silently corrupting the replica. Numbers stay decimal strings: a JS
 * number cannot hold DynamoDB's 38 digits.
 *
 * @param where names the image in error messages, e.g. `NewImage`.
 * @throws Error naming the attribute path when a value is not a DynamoDB attribute value.
 */
export function decodeImage(image: unknown, where: string): AttributeMap {
  if (!isObject(image)) throw new Error(`${where} is not an object of attribute values`);
  const decoded: AttributeMap = {};
  for (const [name, value] of Object.entries(image)) {
    decoded[name] = decodeValue(value, `${where}.${name}`);
  }
  return decoded;
}

function decodeValue(value: unknown, path: string): AttributeValue {
  if (!isObject(value)) throw new Error(`${path} is not a DynamoDB attribute value`);
  const types = Object.keys(value);
  const type = types[0];
  if (types.length !== 1 || type === undefined) {
    throw new Error(`${path} must have exactly one type key (S, N, B, SS, NS, BS, M, L, NULL, BOOL), has ${types.length === 0 ? 'none' : types.join(', ')}`);
  }
  const raw = value[type];
  switch (type) {
    case 'S':
      return { S: expectString(raw, path, type) };
    case 'N':
      return { N: expectNumber(raw, path) };
    case 'B':
      return { B: decodeBase64(raw, path) };
    case 'SS':
      return { SS: expectArray(raw, path, type).map((s, i) => expectString(s, `${path}[${i}]`, 'SS')) };
    case 'NS':
      return { NS: expectArray(raw, path, type).map((n, i) => expectNumber(n, `${path}[${i}]`)) };
    case 'BS':
      return { BS: expectArray(raw, path, type).map((b, i) => decodeBase64(b, `${path}[${i}]`)) };
    case 'M':
      return { M: decodeImage(raw, path) };
    case 'L':
      return { L: expectArray(raw, path, type).map((v, i) => decodeValue(v, `${path}[${i}]`)) };
    case 'NULL':
      if (raw !== true) throw new Error(`${path} NULL must be true`);
      return { NULL: true };
    case 'BOOL':
      if (typeof raw !== 'boolean') throw new Error(`${path} BOOL must be true or false`);
      return { BOOL: raw };
    default:
      throw new Error(`${path} has unknown type "${type}" (expected S, N, B, SS, NS, BS, M, L, NULL or BOOL)`);
  }
}

function decodeBase64(raw: unknown, path: string): Uint8Array {
  const text = expectString(raw, path, 'B');
  if (!BASE64.test(text)) throw new Error(`${path} is not base64, as the Lambda payload carries binary`);
  const buffer = Buffer.from(text, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function expectNumber(raw: unknown, path: string): string {
  const text = expectString(raw, path, 'N');
  if (!NUMBER.test(text)) throw new Error(`${path} "${text}" is not a DynamoDB number`);
  return text;
}

function expectString(raw: unknown, path: string, type: string): string {
  if (typeof raw !== 'string') throw new Error(`${path} ${type} must be a string`);
  return raw;
}

function expectArray(raw: unknown, path: string, type: string): unknown[] {
  if (!Array.isArray(raw)) throw new Error(`${path} ${type} must be an array`);
  return raw;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A canonical text for a key (or the key attributes of an item): equal keys give equal text whatever the attribute
 * order, so changes to one item can be compacted and a write matched to its result.
 */
export function keyIdentity(key: AttributeMap, names: readonly string[] = Object.keys(key)): string {
  const parts: string[] = [];
  for (const name of [...names].sort()) {
    const value = key[name];
    if (value === undefined) throw new Error(`key attribute "${name}" is missing`);
    if (value.S !== undefined) parts.push(name, 'S', value.S);
    else if (value.N !== undefined) parts.push(name, 'N', value.N);
    else if (value.B !== undefined) parts.push(name, 'B', Buffer.from(value.B).toString('base64'));
    else throw new Error(`key attribute "${name}" must be of type S, N or B`);
  }
  return JSON.stringify(parts);
}

/** The key attributes of an item, for a key schema given by attribute names. */
export function pickKey(item: AttributeMap, names: readonly string[]): AttributeMap {
  const key: AttributeMap = {};
  for (const name of names) {
    const value = item[name];
    if (value !== undefined) key[name] = value;
  }
  return key;
}

/** A short readable rendering of a key for messages: `{pk: "order#1", sk: 2}`. */
export function describeKey(key: AttributeMap): string {
  const parts = Object.entries(key).map(([name, value]) => {
    if (value.S !== undefined) return `${name}: ${JSON.stringify(value.S)}`;
    if (value.N !== undefined) return `${name}: ${value.N}`;
    if (value.B !== undefined) return `${name}: <binary ${Buffer.from(value.B).toString('base64')}>`;
    return `${name}: <${Object.keys(value).join('')}>`;
  });
  return `{${parts.join(', ')}}`;
}
