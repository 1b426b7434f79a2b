import { describe, expect, it } from 'vitest';
import { itemSize, MAX_ITEM_BYTES } from '../../handler/item-size';

describe('Function: itemSize', () => {
  it('counts names and values as DynamoDB does against its 400 KB limit', () => {
    // Prepare
    const item = {
      s: { S: 'héllo' },
      n: { N: '-12345.678' },
      b: { B: new Uint8Array(10) },
      ss: { SS: ['a', 'bb'] },
      ns: { NS: ['1', '22'] },
      bs: { BS: [new Uint8Array(3), new Uint8Array(4)] },
      m: { M: { k: { S: 'v' } } },
      l: { L: [{ S: 'x' }, { NULL: true }] },
      t: { BOOL: true },
    };

    // Act
    const size = itemSize(item);

    // Assess: names 1+1+1+2+2+2+1+1+1; values 6, 5, 10, 3, 2+2, 7, 3+1+1+1, 3+1+1+1+1, 1.
    expect(size).toBe(12 + 6 + 5 + 10 + 3 + 4 + 7 + 6 + 7 + 1);
    expect(MAX_ITEM_BYTES).toBe(409_600);
  });
});
