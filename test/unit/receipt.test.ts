import { describe, expect, it } from 'vitest';
import {
  normalizeErrorCode,
  parseReceipt,
  parseReceiptDate,
  parseReceiptFields,
} from '../../src/smpp/receipt.ts';

const STD =
  'id:8A44102A66000001 sub:001 dlvrd:001 submit date:2611261530 done date:2611261531 stat:DELIVRD err:000 text:hello world';

describe('receipt text', () => {
  it('parses the SMPP 3.4 appendix B form', () => {
    const r = parseReceipt(STD)!;
    expect(r.messageId).toBe('8A44102A66000001');
    expect(r.state).toBe('DELIVERED');
    expect(r.errorCode).toBe('0');
    expect(r.submitted).toBe(1);
    expect(r.delivered).toBe(1);
    expect(r.submitDate?.toISOString()).toBe('2026-11-26T15:30:00.000Z');
    expect(r.doneDate?.toISOString()).toBe('2026-11-26T15:31:00.000Z');
    expect(r.text).toBe('hello world');
  });

  it('is tolerant to case, field order, underscores and missing fields', () => {
    const r = parseReceipt('STAT:undeliv ERR:034 Done_Date:261126153112 ID:abc123')!;
    expect(r.messageId).toBe('abc123');
    expect(r.state).toBe('UNDELIVERABLE');
    expect(r.errorCode).toBe('34');
    expect(r.doneDate?.toISOString()).toBe('2026-11-26T15:31:12.000Z');
    expect(r.submitDate).toBeUndefined();
    expect(r.submitted).toBeUndefined();
  });

  it('keeps text that itself contains key-like words', () => {
    const f = parseReceiptFields('id:1 stat:DELIVRD text:the stat: is err:0');
    expect(f.stat).toBe('DELIVRD');
    expect(f.text).toBe('the stat: is err:0');
  });

  it('maps every stat value', () => {
    const states = [
      'DELIVRD',
      'EXPIRED',
      'DELETED',
      'UNDELIV',
      'ACCEPTD',
      'UNKNOWN',
      'REJECTD',
      'ENROUTE',
    ].map((s) => parseReceipt(`id:1 stat:${s}`)!.state);
    expect(states).toEqual([
      'DELIVERED',
      'EXPIRED',
      'DELETED',
      'UNDELIVERABLE',
      'ACCEPTED',
      'UNKNOWN',
      'REJECTED',
      'ENROUTE',
    ]);
    expect(parseReceipt('id:1 stat:WEIRD')!.state).toBe('UNKNOWN');
  });

  it('prefers receipted_message_id, message_state and network_error_code TLVs', () => {
    const r = parseReceipt(STD, {
      receiptedMessageId: 'FFFF',
      messageState: 5,
      networkErrorCode: Buffer.from([0x03, 0x00, 0x22]),
    })!;
    expect(r.messageId).toBe('FFFF');
    expect(r.state).toBe('UNDELIVERABLE');
    expect(r.errorCode).toBe('34');
    expect(r.errorNetworkType).toBe(3);
  });

  // Regression (issue 6): a text-only receipt stored `042` and a TLV receipt of the same error `3:42`.
  it('stores one carrier error the same whether it came as text or as the TLV', () => {
    const text = parseReceipt('id:AB stat:UNDELIV err:042')!;
    const tlv = parseReceipt('', {
      receiptedMessageId: 'AB',
      messageState: 5,
      networkErrorCode: Buffer.from([3, 0, 42]),
    })!;
    expect(text.errorCode).toBe('42');
    expect(tlv.errorCode).toBe(text.errorCode);
    expect(normalizeErrorCode('000')).toBe('0');
    expect(normalizeErrorCode(' 0x1f ')).toBe('0X1F');
    expect(normalizeErrorCode('')).toBeUndefined();
  });

  it('works from TLVs alone and rejects a receipt with neither id nor state', () => {
    expect(parseReceipt('', { receiptedMessageId: '77', messageState: 2 })!.state).toBe('DELIVERED');
    expect(parseReceipt('hello there')).toBeUndefined();
    expect(parseReceipt('id:123')).toBeUndefined();
  });

  it('rejects malformed dates without failing the receipt', () => {
    expect(parseReceiptDate('2613261530')).toBeUndefined();
    expect(parseReceiptDate('26112615')).toBeUndefined();
    expect(parseReceipt('id:1 submit date:xx stat:DELIVRD')!.submitDate).toBeUndefined();
  });
});
