// Edges of receipt parsing that mutation testing showed unpinned: each case is a rendering some
// SMSC sends, and a wrong reading of it loses or misstates a delivery status.
import { describe, expect, it } from 'vitest';
import {
  normalizeErrorCode,
  parseReceipt,
  parseReceiptDate,
  parseReceiptFields,
} from '../../src/smpp/receipt.ts';

describe('receipt state', () => {
  it('maps every message_state TLV value (SMPP 3.4 §5.2.28) and ignores values outside it', () => {
    const names = [
      'ENROUTE',
      'DELIVERED',
      'EXPIRED',
      'DELETED',
      'UNDELIVERABLE',
      'ACCEPTED',
      'UNKNOWN',
      'REJECTED',
      'SKIPPED',
    ];
    names.forEach((name, i) => {
      expect(parseReceipt('', { receiptedMessageId: 'a1', messageState: i + 1 })?.state).toBe(name);
    });
    // 0 and 10 are not states: the text's stat decides, and without one there is no receipt.
    expect(parseReceipt('stat:DELIVRD', { receiptedMessageId: 'a1', messageState: 10 })?.state).toBe(
      'DELIVERED',
    );
    expect(parseReceipt('', { receiptedMessageId: 'a1', messageState: 0 })).toBeUndefined();
  });

  it('reads the long stat spellings as well as the 7-letter ones', () => {
    const long = ['DELIVERED', 'UNDELIVERABLE', 'ACCEPTED', 'REJECTED', 'SKIPPED', 'EXPIRED', 'DELETED'];
    for (const s of long) expect(parseReceipt(`id:1 stat:${s}`)?.state).toBe(s);
  });

  it('takes an unrecognised stat as UNKNOWN, not as a delivery', () => {
    expect(parseReceipt('id:1 stat:WHATEVER')?.state).toBe('UNKNOWN');
  });
});

describe('receipt fields', () => {
  it('keeps the first of a repeated key', () => {
    const f = parseReceiptFields('id:1 stat:UNDELIV err:001 stat:DELIVRD err:000');
    expect(f.stat).toBe('UNDELIV');
    expect(f.err).toBe('001');
  });

  it('accepts spaces before the colon', () => {
    const r = parseReceipt('id :77 sub : 001 stat : DELIVRD')!;
    expect(r.messageId).toBe('77');
    expect(r.submitted).toBe(1);
    expect(r.state).toBe('DELIVERED');
  });

  it('trims values but keeps the text as sent after its one separating space', () => {
    const f = parseReceiptFields('id:  42   stat: DELIVRD  text:  two spaces  ');
    expect(f.id).toBe('42');
    expect(f.stat).toBe('DELIVRD');
    expect(f.text).toBe(' two spaces  ');
  });

  it('reads sub and dlvrd only when they are whole numbers', () => {
    expect(parseReceipt('id:1 sub:x01 dlvrd:01x stat:DELIVRD')).toMatchObject({
      submitted: undefined,
      delivered: undefined,
    });
    expect(parseReceipt('id:1 sub:010 dlvrd:000 stat:DELIVRD')).toMatchObject({
      submitted: 10,
      delivered: 0,
    });
  });
});

describe('receipt dates', () => {
  it('accepts the last valid value of every field and refuses the first invalid one', () => {
    expect(parseReceiptDate('2612312359')?.toISOString()).toBe('2026-12-31T23:59:00.000Z');
    expect(parseReceiptDate('261231235959')?.toISOString()).toBe('2026-12-31T23:59:59.000Z');
    expect(parseReceiptDate('2601010000')?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    for (const bad of [
      '2600011200',
      '2613011200',
      '2601001200',
      '2601321200',
      '2601012400',
      '2601011260',
      '260101120060',
    ])
      expect(parseReceiptDate(bad), bad).toBeUndefined();
  });

  it('refuses anything but 10 or 12 digits', () => {
    for (const bad of ['x2601011200', '2601011200x', '26010112000', '2601011200000', '', undefined])
      expect(parseReceiptDate(bad), String(bad)).toBeUndefined();
  });
});

describe('receipt error codes and ids', () => {
  it('normalises only all-digit codes, upper-cases the rest', () => {
    expect(normalizeErrorCode(' 042 ')).toBe('42');
    expect(normalizeErrorCode('000')).toBe('0');
    expect(normalizeErrorCode('a042')).toBe('A042');
    expect(normalizeErrorCode('042a')).toBe('042A');
    expect(normalizeErrorCode('   ')).toBeUndefined();
  });

  it('ignores a network_error_code TLV too short to hold a code', () => {
    const r = parseReceipt('id:1 stat:UNDELIV err:034', { networkErrorCode: new Uint8Array([3, 0]) })!;
    expect(r.errorCode).toBe('34');
    expect(r.errorNetworkType).toBeUndefined();
  });

  it('cleans the receipted id (spaces, C-string NULs) and falls back to the text id when it is blank', () => {
    expect(parseReceipt('stat:DELIVRD', { receiptedMessageId: ' ab12\0\0' })?.messageId).toBe('ab12');
    expect(parseReceipt('id: 9f \0 stat:DELIVRD', { receiptedMessageId: '   ' })?.messageId).toBe('9f');
    expect(parseReceipt('id:\0\0 stat:DELIVRD')).toBeUndefined();
  });
});
