import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/config/env-parsers.ts';
import { parsePipelineConfig } from '../../../lib/pipeline/pipeline-config.ts';
import { parseQueueConfig, requireDlqUrl, requireWorkQueueUrl } from '../../../lib/queue/queue-config.ts';

describe('parsePipelineConfig', () => {
  it('has safe defaults', () => {
    const c = parsePipelineConfig({});
    expect(c).toMatchObject({
      deadlineSeconds: 7200,
      dryRun: false,
      optMode: 'opt-out',
      allowedProjectIds: [],
    });
    expect(c.scheduler.kind).toBe('model');
  });

  it('reads every documented variable', () => {
    const c = parsePipelineConfig({
      ESCROW_DEADLINE_SECONDS: '600',
      DRY_RUN: 'true',
      ESCROW_OPT_MODE: 'opt-in',
      ESCROW_ALLOWED_PROJECT_IDS: 'a, b',
      ESCROW_SCHEDULER: 'fixed',
    });
    expect(c).toMatchObject({
      deadlineSeconds: 600,
      dryRun: true,
      optMode: 'opt-in',
      allowedProjectIds: ['a', 'b'],
    });
    expect(c.scheduler.kind).toBe('fixed');
  });

  it('names the variable on bad input', () => {
    expect(() => parsePipelineConfig({ ESCROW_SCHEDULER: 'magic' })).toThrow(
      /ESCROW_SCHEDULER must be one of/,
    );
    expect(() =>
      parsePipelineConfig({ ESCROW_MIN_GAP_SECONDS: '100', ESCROW_MAX_GAP_SECONDS: '50' }),
    ).toThrow(ConfigError);
  });

  it('reads the queue URLs in one place and names the missing one', () => {
    const queues = parseQueueConfig({ WORK_QUEUE_URL: 'http://127.0.0.1:1/000/q' });
    expect(requireWorkQueueUrl(queues)).toContain('/q');
    expect(() => requireDlqUrl(queues)).toThrow(/WORK_DLQ_URL is not set/);
    expect(() => parseQueueConfig({ WORK_DLQ_URL: 'nope' })).toThrow(/WORK_DLQ_URL/);
  });
});
