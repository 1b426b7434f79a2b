import { describe, expect, it } from 'vitest';
import { keyIdentity } from '../../../handler/attribute-value';
import { canonicalItem, itemDigest, keyOfIdentity } from '../../../handler/cli/item-digest';

describe('Function: canonicalItem', () => {
  it('gives equal text for equal items whatever the order of attributes and set members', () => {
    // Prepare
    const a = { pk: { S: 'x' }, tags: { SS: ['b', 'a'] }, m: { M: { y: { N: '2' }, x: { BS: [new Uint8Array([2]), new Uint8Array([1])] } } } };
    const b = { m: { M: { x: { BS: [new Uint8Array([1]), new Uint8Array([2])] }, y: { N: '2' } } }, tags: { SS: ['a', 'b'] }, pk: { S: 'x' } };

    // Act & Assess
    expect(canonicalItem(a)).toBe(canonicalItem(b));
    expect(itemDigest(a)).toBe(itemDigest(b));
  });

  it.each([
    ['a number differing in its 38th digit', { n: { N: '12345678901234567890123456789012345678' } }, { n: { N: '12345678901234567890123456789012345679' } }],
    ['one byte of binary', { b: { B: new Uint8Array([1, 2]) } }, { b: { B: new Uint8Array([1, 3]) } }],
    ['a string and a number of the same text', { v: { S: '1' } }, { v: { N: '1' } }],
    ['the order of a list', { l: { L: [{ S: 'a' }, { S: 'b' }] } }, { l: { L: [{ S: 'b' }, { S: 'a' }] } }],
    ['an attribute more', { pk: { S: 'x' } }, { pk: { S: 'x' }, extra: { NULL: true } }],
  ])('tells apart items differing by %s', (_, a, b) => {
    // Act & Assess
    expect(itemDigest(a)).not.toBe(itemDigest(b));
  });
});

describe('Function: keyOfIdentity', () => {
  it('rebuilds the key a key identity stands for, binary included', () => {
    // Prepare
    const key = { pk: { B: new Uint8Array([0, 10, 255]) }, sk: { N: '42' }, s: { S: 'tab\there "quoted"' } };

    // Act
    const rebuilt = keyOfIdentity(keyIdentity(key));

    // Assess
    expect(rebuilt).toEqual(key);
  });

  it('refuses text that is not a key identity', () => {
    // Act & Assess
    expect(() => keyOfIdentity('["pk","X","1"]')).toThrow(/not a key identity/);
  });
});
