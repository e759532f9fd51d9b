import { describe, expect, it } from 'vitest';
import { SmppProtocolError } from '../../src/errors/app-error.ts';
import { STATUS } from '../../src/smpp/command-status.ts';
import { InboundFlow } from '../../src/smpp/inbound-flow.ts';
import { LinkLiveness } from '../../src/smpp/liveness.ts';
import { COMMAND_ID } from '../../src/smpp/pdu-codec.ts';
import { rejectionResponseId, rejectPdu } from '../../src/smpp/pdu-rejection.ts';

describe('link liveness', () => {
  it('probes every interval, misses after the timeout, probes again at once, is dead after maxMissed', () => {
    const l = new LinkLiveness({ intervalMs: 1_000, timeoutMs: 100, maxMissed: 2, healthyMs: 50 });
    l.start(0);
    expect(l.tick(999)).toBe('wait');
    expect(l.tick(1_000)).toBe('send');
    l.sent(7, 1_000);
    expect(l.isProbe(7)).toBe(true);
    expect(l.healthy(1_050)).toBe(true);
    expect(l.healthy(1_051)).toBe(false); // outstanding longer than healthyMs
    expect(l.tick(1_100)).toBe('wait');
    expect(l.tick(1_101)).toBe('send'); // missed: the next goes at once
    expect(l.missing).toBe(true);
    l.sent(8, 1_101);
    expect(l.answered(7)).toBe(true); // a late answer still proves the link
    expect(l.missing).toBe(false);
    expect(l.isProbe(8)).toBe(true);
    expect(l.answered(8)).toBe(false);
    expect(l.tick(2_000)).toBe('wait');
    expect(l.tick(2_101)).toBe('send');
    l.sent(9, 2_101);
    expect(l.tick(2_202)).toBe('send');
    l.sent(10, 2_202);
    expect(l.tick(2_303)).toBe('dead');
    expect(l.missedCount).toBe(2);
  });
});

describe('inbound flow', () => {
  it('pauses reading at max unanswered and resumes at half', () => {
    const calls: string[] = [];
    const f = new InboundFlow(4, { pause: () => calls.push('pause'), resume: () => calls.push('resume') });
    expect([f.received(), f.received(), f.received()]).toEqual([false, false, false]);
    expect(f.received()).toBe(true);
    expect(f.received()).toBe(false); // already paused
    expect(f.pending).toBe(5);
    f.answered();
    f.answered();
    expect(calls).toEqual(['pause']);
    f.answered(); // 2 = max / 2
    expect(calls).toEqual(['pause', 'resume']);
    f.answered();
    expect(calls).toEqual(['pause', 'resume']);
  });
});

describe('malformed PDU answers', () => {
  const frame = Buffer.from('0000001000000005000000000000002a', 'hex'); // deliver_sm, seq 42

  it('answer requests in their own response or a generic_nack; drop responses', () => {
    expect(rejectionResponseId(COMMAND_ID.data_sm)).toBe(COMMAND_ID.data_sm_resp);
    expect(rejectionResponseId(0x00000021)).toBe(COMMAND_ID.generic_nack);
    expect(rejectionResponseId(COMMAND_ID.submit_sm_resp)).toBeUndefined();
  });

  it("carry the decoder's status, else ESME_RINVCMDLEN, and report the frame", () => {
    const a = rejectPdu(
      frame,
      COMMAND_ID.deliver_sm_resp,
      new SmppProtocolError('bad tlv', undefined, STATUS.ESME_RSYSERR),
    );
    expect(a.answer.readUInt32BE(4)).toBe(COMMAND_ID.deliver_sm_resp);
    expect(a.answer.readUInt32BE(8)).toBe(STATUS.ESME_RSYSERR);
    expect(a.answer.readUInt32BE(12)).toBe(42);
    expect(a.report).toMatchObject({
      commandId: 5,
      sequenceNumber: 42,
      answeredStatus: STATUS.ESME_RSYSERR,
      reason: 'bad tlv',
    });
    expect(a.report.frame).not.toBe(frame);
    const b = rejectPdu(frame, COMMAND_ID.generic_nack, 'odd');
    expect(b.answer.readUInt32BE(4)).toBe(COMMAND_ID.generic_nack);
    expect(b.answer.readUInt32BE(8)).toBe(STATUS.ESME_RINVCMDLEN);
    expect(b.report.reason).toBe('odd');
  });
});
