/**
 * A loopback HTTP(S) subscription endpoint for SMN tests: records every message the emulator's
 * SMN publisher POSTs, and confirms SubscriptionConfirmations by GET of `subscribe_url` (as the
 * webhook does) unless `confirm` is switched off.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SmnEndpoint {
  /** http://127.0.0.1:<port>/smn */
  url: string;
  confirm: boolean;
  messages: Array<Record<string, string>>;
  notifications(): Array<Record<string, string>>;
  close(): Promise<void>;
}

export async function startSmnEndpoint(): Promise<SmnEndpoint> {
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => {
      text += c.toString('utf8');
    });
    req.on('end', async () => {
      const body = JSON.parse(text) as Record<string, string>;
      endpoint.messages.push(body);
      if (body['type'] === 'SubscriptionConfirmation' && endpoint.confirm) {
        await (await fetch(body['subscribe_url']!)).arrayBuffer();
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint: SmnEndpoint = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/smn`,
    confirm: true,
    messages: [],
    notifications: () => endpoint.messages.filter((m) => m['type'] === 'Notification'),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return endpoint;
}
