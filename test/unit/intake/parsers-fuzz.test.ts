/**
 * Property tests of the SMN and CTS parsers: whatever the input, they return a value or
 * throw IntakeError (never a TypeError, RangeError or SyntaxError), and an invalid delivery
 * never enqueues anything. Set FUZZ_SEED to replay a run; the seed is printed.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCtsTrace, traceTargets } from '../../../lib/intake/cts/cts-trace.ts';
import { unwrapPlatformEvent } from '../../../lib/intake/functiongraph-eventgrid-envelopes.ts';
import { IntakeError } from '../../../lib/intake/intake-errors.ts';
import { handleSmnDelivery } from '../../../lib/intake/smn/smn-intake.ts';
import { parseSmnBody } from '../../../lib/intake/smn/smn-message.ts';
import {
  createTrace,
  signedNotification,
  startCertServer,
  testConfig,
  testRuntime,
} from './intake-test-kit.ts';

const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31);
const params = { seed, numRuns: 300 };

function onlyIntakeErrors(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch (error) {
    if (error instanceof IntakeError) return true;
    throw error;
  }
}

const SMN_FIELDS = [
  'type',
  'message',
  'message_id',
  'subject',
  'timestamp',
  'topic_urn',
  'signature',
  'signature_version',
  'signing_cert_url',
  'subscribe_url',
  'unsubscribe_url',
];
const UNSIGNED = new Set(['unsubscribe_url', 'signature_version', 'subscribe_url']);
const TYPES = ['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation'];
const smnLike = fc.record(
  Object.fromEntries(
    SMN_FIELDS.map((f) => [f, fc.oneof(fc.jsonValue(), fc.string(), fc.constantFrom(...TYPES))]),
  ),
  { requiredKeys: [] },
);
const traceLike = fc.record(
  {
    trace_name: fc.oneof(
      fc.string(),
      fc.constantFrom('createBareMetalServers', 'reinstallOs'),
      fc.jsonValue(),
    ),
    service_type: fc.oneof(fc.string(), fc.constant('BMS'), fc.jsonValue()),
    resource_id: fc.oneof(fc.string(), fc.uuid(), fc.jsonValue()),
    project_id: fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-f]{32}$/), fc.jsonValue()),
    code: fc.oneof(fc.string(), fc.integer(), fc.jsonValue()),
    response: fc.oneof(fc.string(), fc.jsonValue(), fc.json()),
    trace_status: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

describe(`intake parser fuzzing (seed ${seed})`, () => {
  let cert: Awaited<ReturnType<typeof startCertServer>>;
  beforeAll(async () => {
    console.log(`intake fuzz seed: ${seed} (replay with FUZZ_SEED=${seed})`);
    cert = await startCertServer();
  });
  afterAll(() => cert?.close());

  it('parseSmnBody throws nothing but IntakeError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.string({ unit: 'binary' })), (raw) =>
        onlyIntakeErrors(() => parseSmnBody(raw, 4096)),
      ),
      params,
    );
  });

  it('parseSmnBody throws nothing but IntakeError on SMN-shaped objects', () => {
    fc.assert(
      fc.property(smnLike, (body) => onlyIntakeErrors(() => parseSmnBody(JSON.stringify(body), 256 * 1024))),
      params,
    );
  });

  it('parseCtsTrace and traceTargets throw nothing but IntakeError', () => {
    fc.assert(
      fc.property(fc.oneof(traceLike, fc.jsonValue(), fc.string()), (input) =>
        onlyIntakeErrors(() =>
          traceTargets(parseCtsTrace(typeof input === 'object' ? JSON.stringify(input) : input)),
        ),
      ),
      params,
    );
  });

  it('platform envelopes throw nothing but IntakeError', () => {
    const runtime = testRuntime({ config: testConfig() });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({ record: fc.array(fc.record({ smn: smnLike })) }),
          fc.record({ cts: traceLike }),
          fc.array(
            fc.record({
              specversion: fc.constant('1.0'),
              id: fc.string(),
              source: fc.string(),
              type: fc.string(),
              data: traceLike,
            }),
          ),
        ),
        (event) => onlyIntakeErrors(() => unwrapPlatformEvent(event, runtime)),
      ),
      params,
    );
  });

  it('a delivery with any field changed after signing is refused and enqueues nothing', async () => {
    const runtime = testRuntime({ config: testConfig({ SMN_CERT_HOST_ALLOWLIST: cert.url }) });
    const base = signedNotification({
      certUrl: cert.certUrl,
      trace: createTrace(['53206ed0-56de-4d6b-b7ee-ffc62ca26f43']),
    });
    await fc.assert(
      // unsubscribe_url, signature_version and (for a Notification) subscribe_url are not signed.
      fc.asyncProperty(
        fc.constantFrom(...SMN_FIELDS.filter((f) => !UNSIGNED.has(f))),
        fc.jsonValue(),
        async (field, value) => {
          fc.pre(JSON.stringify(base[field]) !== JSON.stringify(value));
          const body = { ...base, [field]: value };
          try {
            await handleSmnDelivery(runtime, { body: JSON.stringify(body), headers: {} });
          } catch (error) {
            if (!(error instanceof IntakeError)) throw error;
            expect(error.statusCode).toBeLessThan(500);
          }
          return runtime.queue.items.length === 0;
        },
      ),
      { ...params, numRuns: 200 },
    );
    // The unaltered message is accepted, so the refusals above were about the changes.
    await handleSmnDelivery(runtime, { body: JSON.stringify(base), headers: {} });
    expect(runtime.queue.serverIds()).toEqual(['53206ed0-56de-4d6b-b7ee-ffc62ca26f43']);
  });
});
