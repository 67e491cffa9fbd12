/**
 * CloudWatch Embedded Metric Format. One JSON line per flush; CloudWatch turns it into
 * metrics with no API call. Dimensions are kept to low-cardinality values (outcome, reason,
 * api), never server ids.
 */
import type { LogSink } from './logger.ts';

/** CloudWatch EMF's limit on the values of one metric in one document. */
export const MAX_VALUES_PER_METRIC = 100;

export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds' | 'Bytes' | 'None';

interface Datum {
  name: string;
  unit: MetricUnit;
  values: number[];
  dimensions: Record<string, string>;
  rollup: readonly string[] | undefined;
}

export interface Metrics {
  /**
   * `rollup` names dimensions under which the datum is also published on its own (with
   * `service`), so one alarm can watch e.g. every API's 429s without listing the APIs.
   */
  add(
    name: string,
    unit: MetricUnit,
    value: number,
    dimensions?: Record<string, string>,
    rollup?: readonly string[],
  ): void;
  /** Writes buffered metrics and clears the buffer. */
  flush(): void;
}

export interface MetricsOptions {
  namespace?: string;
  service?: string;
  sink?: LogSink;
  now?: () => number;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const namespace = options.namespace ?? 'BmsPasswordEscrow';
  const service = options.service ?? 'bms-password-escrow';
  const sink = options.sink ?? process.stdout;
  const now = options.now ?? Date.now;
  const buffer = new Map<string, Datum>();

  return {
    add(name, unit, value, dimensions = {}, rollup = undefined) {
      const key = `${name}|${JSON.stringify(dimensions)}`;
      const datum = buffer.get(key) ?? { name, unit, values: [], dimensions, rollup };
      datum.values.push(value);
      buffer.set(key, datum);
    },
    flush() {
      for (const datum of buffer.values()) {
        const dims = { service, ...datum.dimensions };
        // EMF takes at most 100 values per metric in one document; a busy batch is split.
        for (let i = 0; i < datum.values.length; i += MAX_VALUES_PER_METRIC) {
          const values = datum.values.slice(i, i + MAX_VALUES_PER_METRIC);
          sink.write(
            `${JSON.stringify({
              _aws: {
                Timestamp: now(),
                CloudWatchMetrics: [
                  {
                    Namespace: namespace,
                    Dimensions: datum.rollup
                      ? [Object.keys(dims), ['service', ...datum.rollup]]
                      : [Object.keys(dims)],
                    Metrics: [{ Name: datum.name, Unit: datum.unit }],
                  },
                ],
              },
              ...dims,
              [datum.name]: values.length === 1 ? values[0] : values,
            })}\n`,
          );
        }
      }
      buffer.clear();
    },
  };
}

export const nullMetrics: Metrics = { add() {}, flush() {} };
