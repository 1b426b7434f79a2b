import { describe, expect, it } from 'vitest';
import { decodeImage, describeKey, encodeImage, keyIdentity, pickKey } from '../../handler/attribute-value';

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const b64 = (value: Uint8Array): string => Buffer.from(value).toString('base64');

describe('Function: decodeImage', () => {
  it('turns every base64 binary into bytes, at any depth, and keeps everything else as it is', () => {
    // Prepare
    const blob = bytes(0, 255, 1, 254, 61, 61);
    const image = {
      s: { S: 'text' },
      empty: { S: '' },
      n: { N: '12345678901234567890123456789012345678' },
      tiny: { N: '-1.5E-130' },
      b: { B: b64(blob) },
      looksLikeBase64: { S: b64(blob) },
      ss: { SS: ['a', 'b'] },
      ns: { NS: ['1', '99999999999999999999999999999999999999'] },
      bs: { BS: [b64(bytes(1)), b64(bytes(2, 3))] },
      m: { M: { inner: { B: b64(bytes(9, 8)) }, deeper: { M: { list: { L: [{ B: b64(bytes(7)) }, { N: '3' }] } } } } },
      l: { L: [{ S: 'x' }, { BS: [b64(bytes(4))] }, { NULL: true }] },
      nothing: { NULL: true },
      yes: { BOOL: true },
      no: { BOOL: false },
    };

    // Act
    const decoded = decodeImage(JSON.parse(JSON.stringify(image)), 'NewImage');

    // Assess
    expect(decoded).toEqual({
      s: { S: 'text' },
      empty: { S: '' },
      n: { N: '12345678901234567890123456789012345678' },
      tiny: { N: '-1.5E-130' },
      b: { B: blob },
      looksLikeBase64: { S: b64(blob) },
      ss: { SS: ['a', 'b'] },
      ns: { NS: ['1', '99999999999999999999999999999999999999'] },
      bs: { BS: [bytes(1), bytes(2, 3)] },
      m: { M: { inner: { B: bytes(9, 8) }, deeper: { M: { list: { L: [{ B: bytes(7) }, { N: '3' }] } } } } },
      l: { L: [{ S: 'x' }, { BS: [bytes(4)] }, { NULL: true }] },
      nothing: { NULL: true },
      yes: { BOOL: true },
      no: { BOOL: false },
    });
    expect(decoded.b?.B).toBeInstanceOf(Uint8Array);
  });

  it("keeps what has no binary in it as the event's own objects, and copies only the maps and lists on the way to a binary", () => {
    // Prepare
    const image = JSON.parse(JSON.stringify({ s: { S: 'x' }, plain: { M: { n: { N: '1' }, l: { L: [{ S: 'y' }] } } }, withBinary: { M: { b: { B: b64(bytes(1)) }, s: { S: 'z' } } } })) as Record<string, Record<string, Record<string, unknown>>>;

    // Act
    const decoded = decodeImage(image, 'NewImage');

    // Assess
    expect(decoded).not.toBe(image);
    expect(decoded.s).toBe(image.s);
    expect(decoded.plain).toBe(image.plain);
    expect(decoded.withBinary).not.toBe(image.withBinary);
    expect(decoded.withBinary?.M?.s).toBe(image.withBinary?.M?.s);
    expect(decodeImage(image.plain?.M, 'M')).toBe(image.plain?.M);
  });

  it('keeps an empty binary empty', () => {
    expect(decodeImage({ b: { B: '' } }, 'NewImage')).toEqual({ b: { B: bytes() } });
  });

  it.each([
    [{ a: 'plain' }, 'NewImage.a is not a DynamoDB attribute value'],
    [{ a: {} }, 'NewImage.a must have exactly one type key (S, N, B, SS, NS, BS, M, L, NULL, BOOL), has none'],
    [{ a: { S: 'x', N: '1' } }, 'NewImage.a must have exactly one type key (S, N, B, SS, NS, BS, M, L, NULL, BOOL), has S, N'],
    [{ a: { X: 'x' } }, 'NewImage.a has unknown type "X"'],
    [{ a: { N: 1 } }, 'NewImage.a N must be a string'],
    [{ a: { N: 'one' } }, 'NewImage.a "one" is not a DynamoDB number'],
    [{ a: { B: 'not base64!' } }, 'NewImage.a is not base64'],
    [{ a: { B: 'QQ' } }, 'NewImage.a is not base64'],
    [{ a: { M: { b: { L: [{ BS: ['%%'] }] } } } }, 'NewImage.a.b[0][0] is not base64'],
    [{ a: { SS: 'x' } }, 'NewImage.a SS must be an array'],
    [{ a: { NULL: false } }, 'NewImage.a NULL must be true'],
    [{ a: { BOOL: 'true' } }, 'NewImage.a BOOL must be true or false'],
    ['image', 'NewImage is not an object of attribute values'],
  ])('rejects %j, naming the attribute', (image, message) => {
    expect(() => decodeImage(image, 'NewImage')).toThrow(message);
  });
});

describe('Function: encodeImage', () => {
  it('writes an item as the DynamoDB JSON text decodeImage reads back bit for bit: binary at any depth, a Buffer, 38-digit numbers', () => {
    // Prepare
    const item = {
      pk: { S: 'quote " backslash \\ newline \n é 𝄞' },
      n: { N: '-12345678901234567890123456789012345678' },
      e: { N: '9.9999999999999999999999999999999999999E+125' },
      b: { B: bytes(0, 255, 1, 254, 61) },
      buffer: { B: Buffer.from([7, 8, 9]) },
      view: { B: new Uint8Array(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2) },
      bs: { BS: [bytes(1), bytes(2, 3)] },
      ns: { NS: ['1', '0.00000000000000000000000000000000000001'] },
      ss: { SS: ['a', 'b'] },
      nested: { M: { inner: { L: [{ B: bytes(9, 9) }, { NULL: true }, { BOOL: false }, { M: { deep: { BS: [bytes(5)] } } }] } } },
      empty: { S: '' },
    };

    // Act
    const text = encodeImage(item);
    const back = decodeImage(JSON.parse(text) as unknown, 'image');

    // Assess
    expect(back).toEqual({ ...item, buffer: { B: bytes(7, 8, 9) }, view: { B: bytes(2, 3) } });
    expect(JSON.parse(text)).toMatchObject({ b: { B: b64(bytes(0, 255, 1, 254, 61)) }, buffer: { B: 'BwgJ' }, view: { B: 'AgM=' }, n: { N: '-12345678901234567890123456789012345678' } });
  });
});

describe('Function: keyIdentity', () => {
  it('is the same for the same key whatever the attribute order, and differs by type and value', () => {
    // Prepare
    const a = { pk: { S: 'x' }, sk: { N: '1' } };
    const b = { sk: { N: '1' }, pk: { S: 'x' } };

    // Assess
    expect(keyIdentity(a)).toBe(keyIdentity(b));
    expect(keyIdentity(a)).not.toBe(keyIdentity({ pk: { S: 'x' }, sk: { S: '1' } }));
    expect(keyIdentity({ pk: { B: bytes(1, 2) } })).toBe(keyIdentity({ pk: { B: bytes(1, 2) } }));
    expect(keyIdentity({ pk: { B: bytes(1, 2) } })).not.toBe(keyIdentity({ pk: { B: bytes(1, 3) } }));
  });

  it('is the JSON text of the sorted names with their types and values, as parked changes in the state table are keyed by it', () => {
    expect(keyIdentity({ sk: { N: '1' }, pk: { S: 'a"b' } })).toBe(JSON.stringify(['pk', 'S', 'a"b', 'sk', 'N', '1']));
    expect(keyIdentity({ pk: { B: bytes(1, 2) } })).toBe(JSON.stringify(['pk', 'B', 'AQI=']));
  });

  it('reads only the named key attributes of an item', () => {
    expect(keyIdentity({ pk: { S: 'x' }, other: { S: 'y' } }, ['pk'])).toBe(keyIdentity({ pk: { S: 'x' } }));
  });

  it('rejects a key attribute that is missing or not S, N or B', () => {
    expect(() => keyIdentity({ pk: { S: 'x' } }, ['pk', 'sk'])).toThrow('key attribute "sk" is missing');
    expect(() => keyIdentity({ pk: { BOOL: true } })).toThrow('key attribute "pk" must be of type S, N or B');
  });
});

describe('Function: pickKey and describeKey', () => {
  it('picks the key attributes and renders them for a message', () => {
    // Prepare
    const item = { pk: { S: 'order#1' }, sk: { N: '12345678901234567890123456789012345678' }, b: { B: bytes(1) } };

    // Act
    const key = pickKey(item, ['pk', 'sk']);

    // Assess
    expect(key).toEqual({ pk: { S: 'order#1' }, sk: { N: '12345678901234567890123456789012345678' } });
    expect(describeKey(key)).toBe('{pk: "order#1", sk: 12345678901234567890123456789012345678}');
    expect(describeKey({ b: { B: bytes(1, 2) } })).toBe('{b: <binary AQI=>}');
  });
});
