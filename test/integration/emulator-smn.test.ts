import { verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { smnStringToSign } from '../../lib/intake/smn/smn-string-to-sign.ts';

interface Delivery {
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, string>;
}

const certPem = readFileSync(
  new URL('../../emulator/fixtures/smn-signing-cert.pem', import.meta.url),
  'utf8',
);

function signatureValid(body: Record<string, string>, digest: 'sha256' | 'sha1'): boolean {
  return verify(
    digest,
    Buffer.from(smnStringToSign(body), 'utf8'),
    certPem,
    Buffer.from(body['signature']!, 'base64'),
  );
}

describe('emulator CTS → SMN pushes', () => {
  let emu: RunningEmulator;
  let receiver: Server;
  let endpoint: string;
  const deliveries: Delivery[] = [];

  beforeAll(async () => {
    emu = await startEmulator({ seed: 21, timeScale: 600 });
    receiver = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => {
        text += c.toString('utf8');
      });
      req.on('end', () => {
        deliveries.push({ headers: req.headers, body: JSON.parse(text) });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/smn`;
  });
  afterAll(async () => {
    await emu.close();
    await new Promise((r) => receiver.close(r));
  });
  beforeEach(() => {
    emu.admin.reset();
    deliveries.length = 0;
  });

  async function confirmedSubscription(): Promise<void> {
    await emu.admin.subscribe(endpoint);
    const confirmation = deliveries.shift()!;
    const res = await fetch(confirmation.body['subscribe_url']!);
    expect(res.status).toBe(200);
  }

  it('sends a signed SubscriptionConfirmation and confirms on GET of subscribe_url', async () => {
    const info = await emu.admin.subscribe(endpoint);
    expect(info.confirmed).toBe(false);
    expect(deliveries).toHaveLength(1);
    const { headers, body } = deliveries[0]!;
    expect(headers['x-smn-message-type']).toBe('SubscriptionConfirmation');
    expect(headers['x-smn-message-id']).toBe(body['message_id']);
    expect(headers['x-smn-topic-urn']).toBe(body['topic_urn']);
    expect(body).toMatchObject({ type: 'SubscriptionConfirmation', signature_version: 'v1' });
    expect(body['subscribe_url']).toMatch(new RegExp(`^${emu.url}/__emulator/smn/confirm\\?token=`));
    // As live confirmation URLs do: the topic, then the region as region and region_id.
    const confirmUrl = new URL(body['subscribe_url']!);
    expect(confirmUrl.searchParams.get('topic_urn')).toBe(emu.smnTopicUrn);
    expect(confirmUrl.searchParams.get('region')).toBe(emu.region);
    expect(confirmUrl.searchParams.get('region_id')).toBe(emu.region);
    expect(body['signing_cert_url']).toBe(`${emu.url}/__emulator/smn/SMN_emulator.pem`);
    expect(signatureValid(body, 'sha256')).toBe(true);
    expect(signatureValid({ ...body, message: `${body['message']} ` }, 'sha256')).toBe(false);
    expect(await (await fetch(body['signing_cert_url']!)).text()).toBe(certPem);

    // Not confirmed yet: a create pushes nothing.
    emu.admin.createServers({ windows: 1, linux: 0 });
    await emu.admin.idle();
    expect(deliveries).toHaveLength(1);

    const confirm = await fetch(body['subscribe_url']!);
    expect(confirm.status).toBe(200);
    expect(emu.admin.subscriptions()).toEqual([expect.objectContaining({ confirmed: true, endpoint })]);
    expect((await fetch(`${emu.url}/__emulator/smn/confirm?token=nope`)).status).toBe(404);
  });

  it('pushes one signed Notification per created server carrying the CTS trace', async () => {
    await confirmedSubscription();
    const { serverIds, jobId, orderId } = emu.admin.createServers({
      windows: 2,
      linux: 1,
      namePrefix: 'evt',
    });
    await emu.admin.idle();
    expect(deliveries).toHaveLength(3);
    for (const { headers, body } of deliveries) {
      expect(headers['x-smn-message-type']).toBe('Notification');
      expect(body['type']).toBe('Notification');
      expect(body['timestamp']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(body['unsubscribe_url']).toContain(
        `/__emulator/smn/unsubscribe?region=${emu.region}&region_id=${emu.region}&subscription_urn=`,
      );
      expect(signatureValid(body, 'sha256')).toBe(true);
    }
    const traces = deliveries.map((d) => JSON.parse(d.body['message']!) as Record<string, string>);
    expect(traces.map((t) => t['resource_id']).sort()).toEqual([...serverIds].sort());
    expect(traces[0]).toMatchObject({
      trace_name: 'createBareMetalServers',
      service_type: 'BMS',
      resource_type: 'bms',
      trace_rating: 'normal',
      trace_type: 'ApiCall',
      code: '200',
      project_id: emu.projectId,
    });
    expect(typeof traces[0]!['request']).toBe('string');
    expect(JSON.parse(traces[0]!['response']!)).toMatchObject({ job_id: jobId, order_id: orderId });
    expect(traces[0]!['request']).not.toMatch(/adminPass":"[^*]/);
    expect(emu.admin.calls().smnDeliveries.filter((d) => d.outcome === 'delivered')).toHaveLength(4);
  });

  it('answers an unsubscribe with a signed UnsubscribeConfirmation whose subscribe_url re-subscribes', async () => {
    await confirmedSubscription();
    emu.admin.createServers({ windows: 1, linux: 0 });
    await emu.admin.idle();
    const notification = deliveries.shift()!.body;
    const left = await fetch(notification['unsubscribe_url']!);
    expect(left.status).toBe(200);
    await emu.admin.idle();
    expect(emu.admin.subscriptions()).toEqual([]);
    expect(deliveries).toHaveLength(1);
    const { headers, body } = deliveries.shift()!;
    expect(headers['x-smn-message-type']).toBe('UnsubscribeConfirmation');
    expect(body).toMatchObject({ type: 'UnsubscribeConfirmation', topic_urn: emu.smnTopicUrn });
    expect(body['message']).toMatch(/^You are unsubscribed from topic: /);
    expect(signatureValid(body, 'sha256')).toBe(true);
    expect(new URL(body['subscribe_url']!).searchParams.get('region_id')).toBe(emu.region);

    expect((await fetch(body['subscribe_url']!)).status).toBe(200);
    expect(emu.admin.subscriptions()).toEqual([expect.objectContaining({ confirmed: true, endpoint })]);
  });

  it('switches to one job-level trace, a SHA1 signature and a custom trace name', async () => {
    await confirmedSubscription();
    emu.admin.setSwitches({
      ctsResourceMode: 'job',
      smnSignatureDigest: 'sha1',
      ctsCreateTraceName: 'createServer',
    });
    const { jobId, orderId } = emu.admin.createServers({ windows: 3, linux: 0 });
    await emu.admin.idle();
    expect(deliveries).toHaveLength(1);
    const body = deliveries[0]!.body;
    expect(signatureValid(body, 'sha1')).toBe(true);
    expect(signatureValid(body, 'sha256')).toBe(false);
    const trace = JSON.parse(body['message']!);
    expect(trace).toMatchObject({ trace_name: 'createServer', resource_id: '' });
    expect(JSON.parse(trace.response)).toEqual({ job_id: jobId, order_id: orderId });
  });

  it('pushes a reinstall trace', async () => {
    await confirmedSubscription();
    const { windowsIds } = emu.admin.createServers({ windows: 1, linux: 0, bootDelaySeconds: 0 });
    await emu.admin.idle();
    deliveries.length = 0;
    emu.admin.reinstall(windowsIds[0]!);
    await emu.admin.idle();
    const trace = JSON.parse(deliveries[0]!.body['message']!);
    expect(trace).toMatchObject({ trace_name: 'reinstallOs', resource_id: windowsIds[0] });
  });

  it('drops notifications at the configured rate and records that, and survives a dead endpoint', async () => {
    await confirmedSubscription();
    emu.admin.setSwitches({ smnDropRate: 1 });
    emu.admin.createServers({ windows: 2, linux: 0 });
    await emu.admin.idle();
    expect(deliveries).toHaveLength(0);
    expect(emu.admin.calls().smnDeliveries.filter((d) => d.outcome === 'dropped')).toHaveLength(2);

    emu.admin.setSwitches({ smnDropRate: 0 });
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/`;
    await new Promise((r) => dead.close(r));
    await emu.admin.subscribe(deadUrl);
    expect(emu.admin.calls().smnDeliveries.at(-1)).toMatchObject({ outcome: 'failed', endpoint: deadUrl });
  });
});
