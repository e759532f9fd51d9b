import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.ts';
import { normalizeAddress } from '../numbers/phone.ts';
import type { MoPart } from '../smpp/inbound.ts';
import { Batcher } from '../store/batcher.ts';
import { classifyDbError } from '../store/db-errors.ts';
import { type EventBus, type InboundEvent, observedWrite } from './events.ts';

/** A whole MO message to store, addresses normalised. */
export interface InboundRecord {
  id: string;
  carrierId: string;
  from: string;
  to: string;
  /** Text as stored: U+0000 replaced, well-formed; the octets are in `raw`. */
  body: string;
  raw: Buffer;
  dataCoding: number;
  segments: number;
  complete: boolean;
}

/** One part of a concatenated MO to store until its siblings arrive. */
export interface PartRecord {
  carrierId: string;
  from: string;
  to: string;
  ref: number;
  total: number;
  seq: number;
  dataCoding: number;
  body: string;
  raw: Buffer;
  /** Deliver what has arrived this long after the first part. */
  timeoutMs: number;
}

/** Storage of inbound messages; implemented by store/inbound-repo.ts. */
export interface InboundStore {
  /** Stores whole messages, attributed to the account owning the destination (or none). */
  storeMessages(msgs: InboundRecord[]): Promise<InboundEvent[]>;
  /** Stores parts (duplicates ignored) and returns the messages they completed. */
  storeParts(parts: PartRecord[]): Promise<InboundEvent[]>;
  /** Delivers groups past their deadline as incomplete messages (missing parts marked). */
  expireGroups(limit: number): Promise<InboundEvent[]>;
}

/** Text the database can store: U+0000 becomes U+FFFD, lone surrogates too (the octets are kept apart). */
export function storableText(text: string): string {
  return text.includes('\u0000') || !text.isWellFormed()
    ? text.replaceAll('\u0000', '\ufffd').toWellFormed()
    : text;
}

export interface InboundCarrierSettings {
  /** Region for addresses without an international TON. */
  region: string;
  moReassemblyTimeoutMs: number;
}

/**
 * Stores inbound (MO) messages before the SMSC is answered: whole messages in one batch, parts of
 * concatenated ones in the database until they are complete (or their time runs out), so a crash
 * loses nothing and parts arriving at different instances still meet. Addresses are normalised
 * with the carrier's TON and region, so an MO to one of our numbers always reaches its account.
 */
export class InboundService {
  private readonly messages: Batcher<InboundRecord, undefined>;
  private readonly parts: Batcher<PartRecord, undefined>;

  constructor(
    private readonly store: InboundStore,
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly carriers: ReadonlyMap<string, InboundCarrierSettings>,
    private readonly defaultRegion: string,
  ) {
    const isolate = (err: unknown) => classifyDbError(err) === 'data';
    this.messages = new Batcher(
      observedWrite(bus, 'inbound', async (items: InboundRecord[]) => {
        this.bus.publish('message.inbound', await this.store.storeMessages(items));
        return items.map(() => undefined);
      }),
      { maxItems: 500, maxDelayMs: 5, concurrency: 2, isolate },
    );
    // One writer for parts: concurrent flushes would lock the same groups in different orders.
    this.parts = new Batcher(
      observedWrite(bus, 'inbound_parts', async (items: PartRecord[]) => {
        this.bus.publish('message.inbound', await this.store.storeParts(items));
        return items.map(() => undefined);
      }),
      { maxItems: 500, maxDelayMs: 5, concurrency: 1, isolate },
    );
  }

  get pending(): number {
    return this.messages.pending + this.parts.pending;
  }

  /** Stores one MO part or message; resolves once it is committed (then the SMSC is answered). */
  async handle(carrierId: string, part: MoPart): Promise<void> {
    const c = this.carriers.get(carrierId);
    const region = c?.region ?? this.defaultRegion;
    const from = normalizeAddress(part.from.addr, part.from.ton, region);
    const to = normalizeAddress(part.to.addr, part.to.ton, region);
    const body = storableText(part.text);
    try {
      if (!part.concat) {
        await this.messages.add({
          id: randomUUID(),
          carrierId,
          from,
          to,
          body,
          raw: part.raw,
          dataCoding: part.dataCoding,
          segments: 1,
          complete: true,
        });
        return;
      }
      await this.parts.add({
        carrierId,
        from,
        to,
        ref: part.concat.ref,
        total: part.concat.total,
        seq: part.concat.seq,
        dataCoding: part.dataCoding,
        body,
        raw: part.raw,
        timeoutMs: c?.moReassemblyTimeoutMs ?? 60_000,
      });
    } catch (err) {
      if (classifyDbError(err) !== 'data') throw err;
      // Values the database refuses (after sanitising) would be refused again on every resend.
      this.log.error(
        { carrier: carrierId, code: (err as { code?: string }).code },
        'MO refused by the database; dropped',
      );
    }
  }

  /** Delivers incomplete concatenated messages whose time ran out; returns how many. */
  async expireGroups(limit = 500): Promise<number> {
    const events = await this.store.expireGroups(limit);
    this.bus.publish('message.inbound', events);
    return events.length;
  }

  async drain(): Promise<void> {
    await Promise.all([this.messages.drain(), this.parts.drain()]);
  }
}
