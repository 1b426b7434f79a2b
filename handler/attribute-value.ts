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
 * Every value of every record passes here, so it allocates only where it must: a value without binary in it is
 * checked and returned as it came (the event's own object), and the path that names a bad value in the error is
 * built only when there is one, each level adding its step (`.name`, `[i]`) on the error's way out.
 *
 * @param where names the image in error messages, e.g. `NewImage`.
 * @throws Error naming the attribute path when a value is not a DynamoDB attribute value.
 */
export function decodeImage(image: unknown, where: string): AttributeMap {
  try {
    return decodeMap(image);
  } catch (error) {
    if (!(error instanceof InvalidValue)) throw error;
    throw new Error(`${where}${error.steps.reverse().join('')} ${error.problem}`, { cause: error });
  }
}

/**
 * An item as the DynamoDB JSON text of a Lambda stream event: binary in base64, numbers as decimal strings. What
 * `decodeImage(JSON.parse(text), ...)` turns back into the same item, bit for bit.
 */
export function encodeImage(item: AttributeMap): string {
  return JSON.stringify(item, binaryAsBase64);
}

/** JSON.stringify's replacer for `encodeImage`: bytes (a Buffer included, before its own toJSON) become base64. */
function binaryAsBase64(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  return original instanceof Uint8Array ? Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') : value;
}

/** A value that is not a DynamoDB attribute value; the steps from it up to the image are added as it propagates. */
class InvalidValue extends Error {
  public readonly steps: string[] = [];

  public constructor(public readonly problem: string) {
    super(problem);
  }
}

/** The error from below `step`, with the step added to its path. */
function below(step: string, error: unknown): unknown {
  if (error instanceof InvalidValue) error.steps.push(step);
  return error;
}

/** An image or an `M`: the same object when none of its values changed, a copy with the decoded ones otherwise. */
function decodeMap(image: unknown): AttributeMap {
  if (!isObject(image)) throw new InvalidValue('is not an object of attribute values');
  const names = Object.keys(image);
  let copy: AttributeMap | undefined;
  for (let i = 0; i < names.length; i += 1) {
    const name = names[i] as string;
    const value = image[name];
    let decoded: AttributeValue;
    try {
      decoded = decodeValue(value);
    } catch (error) {
      throw below(`.${name}`, error);
    }
    if (copy === undefined && decoded !== value) {
      copy = {};
      for (let j = 0; j < i; j += 1) copy[names[j] as string] = image[names[j] as string] as AttributeValue;
    }
    if (copy !== undefined) copy[name] = decoded;
  }
  return copy ?? (image as AttributeMap);
}

/** A list or set: the same array when none of its elements changed, a copy with the decoded ones otherwise. */
function decodeList<T>(raw: unknown, type: string, decode: (value: unknown) => T): T[] {
  if (!Array.isArray(raw)) throw new InvalidValue(`${type} must be an array`);
  let copy: T[] | undefined;
  for (let i = 0; i < raw.length; i += 1) {
    const value: unknown = raw[i];
    let decoded: T;
    try {
      decoded = decode(value);
    } catch (error) {
      throw below(`[${i}]`, error);
    }
    if (copy === undefined && decoded !== value) copy = raw.slice(0, i) as T[];
    if (copy !== undefined) copy.push(decoded);
  }
  return copy ?? (raw as T[]);
}

function decodeValue(value: unknown): AttributeValue {
  if (!isObject(value)) throw new InvalidValue('is not a DynamoDB attribute value');
  let type: string | undefined;
  let types = 0;
  for (const name in value) {
    type ??= name;
    types += 1;
  }
  if (types !== 1 || type === undefined) {
    throw new InvalidValue(`must have exactly one type key (S, N, B, SS, NS, BS, M, L, NULL, BOOL), has ${types === 0 ? 'none' : Object.keys(value).join(', ')}`);
  }
  const raw = value[type];
  switch (type) {
    case 'S':
      expectString(raw, type);
      return checked(value);
    case 'N':
      expectNumber(raw);
      return checked(value);
    case 'B':
      return { B: decodeBase64(raw) };
    case 'SS':
      return sameIfUnchanged(value, raw, decodeList(raw, type, expectS), 'SS');
    case 'NS':
      return sameIfUnchanged(value, raw, decodeList(raw, type, expectNumber), 'NS');
    case 'BS':
      return { BS: decodeList(raw, type, decodeBase64) };
    case 'M':
      return sameIfUnchanged(value, raw, decodeMap(raw), 'M');
    case 'L':
      return sameIfUnchanged(value, raw, decodeList(raw, type, decodeValue), 'L');
    case 'NULL':
      if (raw !== true) throw new InvalidValue('NULL must be true');
      return checked(value);
    case 'BOOL':
      if (typeof raw !== 'boolean') throw new InvalidValue('BOOL must be true or false');
      return checked(value);
    default:
      throw new InvalidValue(`has unknown type "${type}" (expected S, N, B, SS, NS, BS, M, L, NULL or BOOL)`);
  }
}

/** The value as it came when its content is unchanged; a new value of the same type around the decoded content otherwise. */
function sameIfUnchanged(value: Record<string, unknown>, raw: unknown, decoded: unknown, type: 'SS' | 'NS' | 'M' | 'L'): AttributeValue {
  return decoded === raw ? checked(value) : ({ [type]: decoded } as unknown as AttributeValue);
}

/** A value of the event that `decodeValue` has checked, as the SDK takes it. */
function checked(value: Record<string, unknown>): AttributeValue {
  return value as unknown as AttributeValue;
}

function expectS(raw: unknown): string {
  return expectString(raw, 'SS');
}

function decodeBase64(raw: unknown): Uint8Array {
  const text = expectString(raw, 'B');
  if (!BASE64.test(text)) throw new InvalidValue('is not base64, as the Lambda payload carries binary');
  const buffer = Buffer.from(text, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function expectNumber(raw: unknown): string {
  const text = expectString(raw, 'N');
  if (!NUMBER.test(text)) throw new InvalidValue(`"${text}" is not a DynamoDB number`);
  return text;
}

function expectString(raw: unknown, type: string): string {
  if (typeof raw !== 'string') throw new InvalidValue(`${type} must be a string`);
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
  // The text of JSON.stringify([name, type, value, ...]) over the sorted names, written out directly: the state
  // table keys parked changes by it, so it never changes.
  const sorted = names.length > 1 ? [...names].sort() : names;
  let text = '[';
  for (const name of sorted) {
    const value = key[name];
    if (value === undefined) throw new Error(`key attribute "${name}" is missing`);
    const typed =
      value.S !== undefined
        ? `"S",${JSON.stringify(value.S)}`
        : value.N !== undefined
          ? `"N",${JSON.stringify(value.N)}`
          : value.B !== undefined
            ? `"B","${Buffer.from(value.B.buffer, value.B.byteOffset, value.B.byteLength).toString('base64')}"`
            : undefined;
    if (typed === undefined) throw new Error(`key attribute "${name}" must be of type S, N or B`);
    text += `${text.length > 1 ? ',' : ''}${JSON.stringify(name)},${typed}`;
  }
  return `${text}]`;
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
