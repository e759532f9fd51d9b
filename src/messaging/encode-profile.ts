/**
 * Encoding a message for the carrier that takes it. Every carrier has an EncodeProfile (its
 * data_coding for GSM text, Latin-1 allowed or not, 8- or 16-bit concatenation reference, UDH or
 * message_payload); a message is encoded at accept for the first carrier of its route and
 * re-encoded at dispatch when another carrier, with another profile, takes it. Pure.
 */
import { DATA_CODING, type EncodedMessage, encodeMessage } from '../smpp/encoding/segment.ts';
import type { DraftSegment, EncodeProfile } from './model.ts';

export const DEFAULT_PROFILE: EncodeProfile = {
  gsmDataCoding: 0,
  allowLatin1: false,
  concatRef: '8bit',
  longMessageMode: 'udh',
};

/** A short stable key of a profile, stored with each segment: `g0.u.r8.udh`. */
export function profileKey(p: EncodeProfile): string {
  return `g${p.gsmDataCoding}.${p.allowLatin1 ? 'l' : 'u'}.${p.concatRef === '16bit' ? 'r16' : 'r8'}.${p.longMessageMode}`;
}

/** Whether two profile keys cut text identically (they may still differ in the GSM data_coding). */
export function sameSplit(a: string, b: string): boolean {
  return a.slice(a.indexOf('.')) === b.slice(b.indexOf('.'));
}

export interface EncodedForCarrier {
  encoding: EncodedMessage['encoding'];
  segmentCount: number;
  segments: DraftSegment[];
  profile: string;
  nonGsmCharacters: string[];
}

/**
 * Encodes `body` under `profile`. `referenceNumber` is the concatenation reference (kept when a
 * message is re-encoded, so every part of it carries the same one). Throws RangeError when the text
 * needs more than 255 segments.
 */
export function encodeForProfile(
  body: string,
  profile: EncodeProfile,
  referenceNumber: number,
): EncodedForCarrier {
  const enc = encodeMessage(body, {
    gsmDataCoding: profile.gsmDataCoding,
    allowLatin1: profile.allowLatin1,
    concatRef: profile.concatRef,
    mode: profile.longMessageMode,
    referenceNumber,
  });
  const payloadMode = profile.longMessageMode === 'payload';
  return {
    encoding: enc.encoding,
    segmentCount: enc.segmentCount,
    segments: enc.parts.map((p, idx) => ({
      idx,
      payload: p.bytes,
      dataCoding: enc.dataCoding,
      esmClass: enc.udhi ? 0x40 : 0,
      usePayloadTlv: payloadMode || p.bytes.length > 254,
    })),
    profile: profileKey(profile),
    nonGsmCharacters: enc.nonGsmCharacters,
  };
}

/** The data_coding a stored GSM-7 segment needs on a carrier with `profile` (other alphabets keep theirs). */
export function dataCodingFor(storedDataCoding: number, profile: EncodeProfile): number {
  const gsm = storedDataCoding === DATA_CODING.SMSC_DEFAULT || storedDataCoding === DATA_CODING.IA5;
  return gsm ? profile.gsmDataCoding : storedDataCoding;
}

/** The concatenation reference a stored UDH part carries (so a re-encoding keeps it). */
export function referenceOf(payload: Buffer, esmClass: number): number | undefined {
  if (!(esmClass & 0x40) || payload.length < 6) return undefined;
  if (payload[1] === 0x00 && payload[2] === 0x03) return payload[3];
  if (payload[1] === 0x08 && payload[2] === 0x04 && payload.length >= 7)
    return (payload[3]! << 8) | payload[4]!;
  return undefined;
}
