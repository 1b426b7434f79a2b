import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import type { AttributeMap } from '../types';

/**
 * A canonical text of an item: equal items give equal text. Attribute names and set members are sorted (DynamoDB
 * keeps no order in a map or set), binary is compared byte for byte (base64), and numbers are compared as the exact
 * decimal strings DynamoDB returns, never as JS numbers that would round 38 digits.
 */
export function canonicalItem(item: AttributeMap, ignored: ReadonlySet<string> = NONE): string {
  return JSON.stringify(canonicalMap(item, ignored));
}

/** A short digest of {@link canonicalItem}, for comparing items without keeping them. */
export function itemDigest(item: AttributeMap, ignored: ReadonlySet<string> = NONE): string {
  return createHash('sha256').update(canonicalItem(item, ignored)).digest('base64url');
}

const NONE: ReadonlySet<string> = new Set();

/** `ignored` names top-level attributes left out of the comparison (`verify --ignore-attribute`). */
function canonicalMap(map: AttributeMap, ignored: ReadonlySet<string> = NONE): unknown[] {
  return Object.entries(map)
    .filter(([name]) => !ignored.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => [name, canonicalValue(value)]);
}

function canonicalValue(value: AttributeValue): unknown[] {
  if (value.S !== undefined) return ['S', value.S];
  if (value.N !== undefined) return ['N', value.N];
  if (value.B !== undefined) return ['B', base64(value.B)];
  if (value.SS !== undefined) return ['SS', [...value.SS].sort()];
  if (value.NS !== undefined) return ['NS', [...value.NS].sort()];
  if (value.BS !== undefined) return ['BS', value.BS.map(base64).sort()];
  if (value.M !== undefined) return ['M', canonicalMap(value.M)];
  if (value.L !== undefined) return ['L', value.L.map(canonicalValue)];
  if (value.NULL !== undefined) return ['NULL'];
  if (value.BOOL !== undefined) return ['BOOL', value.BOOL];
  throw new Error(`unknown attribute value type ${Object.keys(value).join(', ')}`);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

/**
 * The key a `keyIdentity` text stands for. Comparison keeps only identities (short and canonical); the key is
 * rebuilt for the few items that must be read again or repaired.
 */
export function keyOfIdentity(keyId: string): AttributeMap {
  const parts = JSON.parse(keyId) as unknown;
  if (!Array.isArray(parts) || parts.length % 3 !== 0) throw new Error(`not a key identity: ${keyId}`);
  const key: AttributeMap = {};
  for (let i = 0; i < parts.length; i += 3) {
    const [name, type, text] = parts.slice(i, i + 3) as unknown[];
    if (typeof name !== 'string' || typeof text !== 'string') throw new Error(`not a key identity: ${keyId}`);
    if (type === 'S') key[name] = { S: text };
    else if (type === 'N') key[name] = { N: text };
    else if (type === 'B') key[name] = { B: new Uint8Array(Buffer.from(text, 'base64')) };
    else throw new Error(`not a key identity: ${keyId}`);
  }
  return key;
}
