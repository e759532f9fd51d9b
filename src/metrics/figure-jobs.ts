/**
 * The gateway's background figures, as jobs started with it and stopped in this order: refusals at
 * accept into the per-number deltas, the deltas folded into per-number rollups, the queue's
 * backlog gauges, the event loop's delay.
 */
import type { Logger } from '../logger.ts';
import type { EventBus } from '../messaging/events.ts';
import { BacklogGauges, type BacklogSource } from './backlog-gauges.ts';
import { EventLoopDelayJob } from './event-loop-delay.ts';
import type { Metrics } from './metrics.ts';
import {
  type NumberStatsStore,
  RefusalRecorder,
  type StatDeltaInput,
  StatsFolder,
} from './number-metrics.ts';

export interface FigureJob {
  start(): void;
  /** Resolves once the job's work in progress has ended. */
  stop(): Promise<void>;
}

/** Builds the jobs (none started). Never throws. */
export function createFigureJobs(deps: {
  bus: EventBus;
  stats: NumberStatsStore & { add(rows: readonly StatDeltaInput[]): Promise<void> };
  backlog: BacklogSource;
  metrics: Metrics;
  log: Logger;
}): FigureJob[] {
  const { bus, stats, backlog, metrics, log } = deps;
  return [
    new RefusalRecorder(bus, (rows) => stats.add(rows), log),
    new StatsFolder(stats, log),
    new BacklogGauges(backlog, metrics, log),
    new EventLoopDelayJob(metrics.eventLoopDelay),
  ];
}
