/**
 * The emulator's SMN v2 and CTS v3 management APIs behind the same gateway as BMS: signature
 * check, IAM deny switch, per-API rate limit, the project check and error bodies; topics,
 * subscriptions (confirmed by the endpoint through the SMN publisher) and notifications that
 * route CTS traces to a topic.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { signedFetch } from '../helpers/signed-fetch.ts';
import { type SmnEndpoint, startSmnEndpoint } from '../helpers/smn-endpoint.ts';

let emu: RunningEmulator;
let smn: SmnEndpoint;
let endpoint: string;

beforeAll(async () => {
  emu = await startEmulator({ seed: 21 });
  smn = await startSmnEndpoint();
  endpoint = smn.url;
});
afterAll(async () => {
  await emu.close();
  await smn.close();
});
beforeEach(() => {
  emu.admin.reset();
  smn.messages = [];
});

const creds = () => ({ accessKey: emu.accessKey, secretKey: emu.secretKey });
const topics = () => `${emu.url}/v2/${emu.projectId}/notifications/topics`;

describe('SMN management API', () => {
  it('refuses an unsigned or forged request with the gateway 401 body', async () => {
    const res = await signedFetch(topics(), creds(), { tamper: true });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error_code: 'APIGW.0301' });
  });

  it('creates a topic idempotently (201, then 200) and lists it next to the built-in one', async () => {
    const first = await signedFetch(topics(), creds(), { method: 'POST', body: { name: 'escrow' } });
    expect(first.status).toBe(201);
    const urn = ((await first.json()) as { topic_urn: string }).topic_urn;
    expect(urn).toBe(`urn:smn:${emu.region}:${emu.projectId}:escrow`);
    const again = await signedFetch(topics(), creds(), { method: 'POST', body: { name: 'escrow' } });
    expect(again.status).toBe(200);
    const list = (await (await signedFetch(topics(), creds())).json()) as {
      topic_count: number;
      topics: Array<{ topic_urn: string }>;
    };
    expect(list.topic_count).toBe(2);
    expect(list.topics.map((t) => t.topic_urn)).toContain(urn);
  });

  it('a subscription turns confirmed (1) when the endpoint confirms, and only routed traces arrive', async () => {
    const urn = `urn:smn:${emu.region}:${emu.projectId}:escrow`;
    await signedFetch(topics(), creds(), { method: 'POST', body: { name: 'escrow' } });
    const add = await signedFetch(`${topics()}/${urn}/subscriptions`, creds(), {
      method: 'POST',
      body: { protocol: 'http', endpoint },
    });
    expect(add.status).toBe(201);
    await emu.admin.idle();
    const subs = (await (await signedFetch(`${topics()}/${urn}/subscriptions`, creds())).json()) as {
      subscriptions: Array<{ endpoint: string; status: number; topic_urn: string }>;
    };
    expect(subs.subscriptions).toEqual([expect.objectContaining({ endpoint, status: 1, topic_urn: urn })]);

    // No CTS notification yet: a creation does not reach this topic.
    emu.admin.createServers({ windows: 1, linux: 0 });
    await emu.admin.idle();
    expect(smn.notifications()).toHaveLength(0);

    const create = await signedFetch(`${emu.url}/v3/${emu.projectId}/notifications`, creds(), {
      method: 'POST',
      body: {
        notification_name: 'escrow',
        operation_type: 'customized',
        operations: [{ service_type: 'BMS', resource_type: 'bms', trace_names: ['createBareMetalServers'] }],
        topic_id: urn,
      },
    });
    expect(create.status).toBe(201);
    emu.admin.createServers({ windows: 1, linux: 0 });
    await emu.admin.idle();
    const notes = smn.notifications();
    expect(notes).toHaveLength(1);
    expect(notes[0]!['topic_urn']).toBe(urn);
  });

  it('answers an unknown topic 404 in the service error body, a bad notification 400', async () => {
    const res = await signedFetch(
      `${topics()}/urn:smn:${emu.region}:${emu.projectId}:nope/subscriptions`,
      creds(),
    );
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: expect.stringMatching(/^SMN\./) } });
    const bad = await signedFetch(`${emu.url}/v3/${emu.projectId}/notifications`, creds(), {
      method: 'POST',
      body: { notification_name: 'x', operation_type: 'customized' },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'CTS.0001' } });
  });

  it('applies the deny switch, the rate limit and the project check', async () => {
    emu.admin.setSwitches({ deniedActions: ['smn:topic:create'] });
    const denied = await signedFetch(topics(), creds(), { method: 'POST', body: { name: 'escrow' } });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({
      error_msg: "Policy doesn't allow smn:topic:create to be performed.",
    });

    emu.admin.setSwitches({ deniedActions: [], rateLimits: { 'smn.topics.list': 2 } });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await signedFetch(topics(), creds())).status);
    expect(statuses).toEqual([200, 200, 429]);

    emu.admin.setSwitches({ rateLimits: { 'smn.topics.list': 1000 } });
    const other = await signedFetch(
      `${emu.url}/v2/0123456789abcdef0123456789abcdef/notifications/topics`,
      creds(),
    );
    expect(other.status).toBe(400);
  });
});
