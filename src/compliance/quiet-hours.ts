/**
 * Quiet hours: nothing is submitted outside the allowed window of the recipient's local day
 * (default 08:00–21:00; TCPA and state rules). A recipient whose number spans several zones must
 * be inside the window in all of them. Pure; time-zone arithmetic (DST included) by Luxon.
 */
import { DateTime } from 'luxon';

export interface SendWindow {
  /** Local time the window opens, "HH:MM". */
  start: string;
  /** Local time it closes (exclusive), "HH:MM"; after `start`. */
  end: string;
}

export const DEFAULT_WINDOW: SendWindow = Object.freeze({ start: '08:00', end: '21:00' });

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Whether `w` is a valid window (HH:MM, start before end). */
export function isValidWindow(w: SendWindow): boolean {
  return HHMM.test(w.start) && HHMM.test(w.end) && minutes(w.start) < minutes(w.end);
}

function minutes(hhmm: string): number {
  const m = HHMM.exec(hhmm)!;
  return Number(m[1]) * 60 + Number(m[2]);
}

function inside(zone: string, w: SendWindow, at: DateTime): boolean {
  const local = at.setZone(zone);
  const m = local.hour * 60 + local.minute;
  return m >= minutes(w.start) && m < minutes(w.end);
}

/**
 * When a message to a recipient in `zones` may be sent, at or after `now`: undefined when it may
 * go now, else the first instant inside the window in every zone. Throws on an unknown zone or an
 * invalid window; returns undefined for an empty zone list (nothing to respect).
 */
export function nextAllowed(zones: readonly string[], w: SendWindow, now: Date): Date | undefined {
  if (zones.length === 0) return undefined;
  if (!isValidWindow(w)) throw new Error(`invalid send window ${w.start}–${w.end}`);
  for (const z of zones) if (!DateTime.local().setZone(z).isValid) throw new Error(`unknown time zone ${z}`);
  const t = DateTime.fromJSDate(now, { zone: 'utc' });
  if (zones.every((z) => inside(z, w, t))) return undefined;
  // The answer is the opening of the window in one of the zones (at most two days ahead): try
  // each opening in time order.
  const [sh, sm] = w.start.split(':').map(Number) as [number, number];
  const candidates: DateTime[] = [];
  for (const z of zones) {
    const local = t.setZone(z);
    for (let d = 0; d <= 2; d++) {
      const open = local.startOf('day').plus({ days: d }).set({ hour: sh, minute: sm });
      if (open > t) candidates.push(open.toUTC());
    }
  }
  candidates.sort((a, b) => a.toMillis() - b.toMillis());
  for (const c of candidates) if (zones.every((z) => inside(z, w, c))) return c.toJSDate();
  // No instant inside every zone's window (zones too far apart): the earliest opening anywhere.
  return candidates[0]?.toJSDate();
}
