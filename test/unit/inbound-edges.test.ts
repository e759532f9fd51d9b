// Inbound classification and reassembly edges that mutation testing showed unpinned; each is a
// PDU shape some SMSC sends.
import { describe, expect, it } from 'vitest';
import {
  interpretInbound,
  isReceipt,
  joinMoParts,
  MISSING_PART,
  validConcat,
} from '../../src/smpp/inbound.ts';
import { inboundPdu } from '../helpers/core-fixtures.ts';

const pdu = inboundPdu;

const mo = (p: ReturnType<typeof inboundPdu>) => {
  const ev = interpretInbound(p);
  if (ev.kind !== 'mo') throw new Error(`expected an MO, got ${ev.kind}`);
  return ev.part;
};

describe('esm_class message types', () => {
  it('takes receipts, SME acknowledgements and intermediate notifications as receipts, nothing else', () => {
    const receipts = [0x04, 0x08, 0x10, 0x20, 0x44, 0x84];
    const others = [0x00, 0x0c, 0x18, 0x3c, 0x40, 0x80, 0x02, 0x03];
    for (const e of receipts) expect(isReceipt(e), `0x${e.toString(16)}`).toBe(true);
    for (const e of others) expect(isReceipt(e), `0x${e.toString(16)}`).toBe(false);
  });
});

describe('interpretInbound', () => {
  it('uses an empty message_payload TLV as absent', () => {
    expect(
      mo(pdu({ shortMessage: Buffer.from('HELP'), messagePayload: Buffer.alloc(0), dataCoding: 1 })).text,
    ).toBe('HELP');
  });

  it('builds a receipt from its TLVs when the text carries no id', () => {
    const ev = interpretInbound(
      pdu({
        esmClass: 0x04,
        shortMessage: Buffer.from('stat:DELIVRD'),
        receiptedMessageId: 'ab12',
        messageState: 5,
      }),
    );
    expect(ev).toMatchObject({ kind: 'receipt', receipt: { messageId: 'ab12', state: 'UNDELIVERABLE' } });
    const nec = interpretInbound(
      pdu({
        esmClass: 0x04,
        shortMessage: Buffer.from('id:1 stat:UNDELIV'),
        networkErrorCode: Buffer.from([3, 0, 34]),
      }),
    );
    expect(nec).toMatchObject({ kind: 'receipt', receipt: { errorCode: '34', errorNetworkType: 3 } });
  });

  it('reads a body that looks like a UDH as text when esm_class has no UDHI', () => {
    const part = mo(pdu({ shortMessage: Buffer.from('050003070201', 'hex'), dataCoding: 4 }));
    expect(part.concat).toBeUndefined();
    expect(part.raw.toString('hex')).toBe('050003070201');
  });

  it('takes a UDH without a concatenation element as a lone message, its header removed', () => {
    // IEI 0x05: application port addressing, 16-bit.
    const part = mo(
      pdu({ esmClass: 0x40, shortMessage: Buffer.from('06050415811581', 'hex'), dataCoding: 4 }),
    );
    expect(part.concat).toBeUndefined();
    expect(part.raw.length).toBe(0);
  });

  it('prefers the UDH concatenation to SAR TLVs, and needs all three SAR TLVs', () => {
    const both = mo(
      pdu({
        esmClass: 0x40,
        shortMessage: Buffer.from('05000307020148', 'hex'),
        sarMsgRefNum: 300,
        sarTotalSegments: 3,
        sarSegmentSeqnum: 3,
      }),
    );
    expect(both.concat).toEqual({ ref: 7, total: 2, seq: 1, source: 'udh' });
    const sar = { sarMsgRefNum: 300, sarTotalSegments: 3, sarSegmentSeqnum: 2 };
    for (const missing of ['sarMsgRefNum', 'sarTotalSegments', 'sarSegmentSeqnum'] as const)
      expect(
        mo(pdu({ shortMessage: Buffer.from('48'), ...sar, [missing]: undefined })).concat,
        missing,
      ).toBeUndefined();
  });
});

describe('validConcat', () => {
  it('refuses non-integers anywhere and takes the largest total', () => {
    expect(validConcat(1.5, 2, 1, 'sar')).toBeUndefined();
    expect(validConcat(1, 2.5, 1, 'sar')).toBeUndefined();
    expect(validConcat(1, 2, 1.5, 'sar')).toBeUndefined();
    expect(validConcat(Number.NaN, 2, 1, 'sar')).toBeUndefined();
    expect(validConcat(1, 255, 255, 'udh')).toEqual({ ref: 1, total: 255, seq: 255, source: 'udh' });
  });
});

describe('joinMoParts', () => {
  const part = (seq: number, text: string, dataCoding = 0) => ({
    seq,
    dataCoding,
    text,
    raw: Buffer.from(text, 'latin1'),
  });

  it('marks a missing part with [\u2026]', () => {
    expect(MISSING_PART).toBe('[…]');
  });

  it('counts and keeps only parts inside 1..total, each once', () => {
    const j = joinMoParts(2, [part(0, 'x'), part(1, 'a'), part(3, 'y'), part(2, 'b'), part(2, 'B')]);
    expect(j).toMatchObject({ text: 'ab', complete: true, received: 2 });
    expect(j.raw.toString('latin1')).toBe('ab');
  });

  it('joins per part when the parts do not all carry UCS-2, or some are missing', () => {
    const ucs = (seq: number, s: string) => ({
      seq,
      dataCoding: 8,
      text: s,
      raw: Buffer.from(s, 'utf16le').swap16(),
    });
    expect(joinMoParts(2, [ucs(1, 'Жд'), part(2, 'ok')]).text).toBe('Ждok');
    expect(joinMoParts(3, [ucs(1, 'Жд'), ucs(3, 'ё')]).text).toBe(`Жд${MISSING_PART}ё`);
    expect(joinMoParts(2, [ucs(1, 'Жд'), ucs(2, 'ё')]).text).toBe('Ждё');
  });

  it('rebuilds a character split across parts from the octets, not the stored per-part text', () => {
    // Each part alone holds half a surrogate pair, stored as U+FFFD (text columns hold no lone surrogates).
    const bytes = Buffer.from('d83dde00', 'hex');
    const parts = [
      { seq: 1, dataCoding: 8, text: '\ufffd', raw: bytes.subarray(0, 2) },
      { seq: 2, dataCoding: 8, text: '\ufffd', raw: bytes.subarray(2) },
    ];
    expect(joinMoParts(2, parts).text).toBe('😀');
  });
});
