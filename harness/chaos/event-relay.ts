/**
 * How events reach the hook in a chaos scenario. The emulator pushes CTS traces over SMN to a
 * loopback webhook that answers through the product's own handler (lib/intake/webhook-http.ts);
 * on the way some deliveries are repeated (to the same intake instance, whose dedupe cache
 * should catch it, or to a fresh one, whose cache is empty, as a second Lambda instance would
 * be) and some are held back so that later events overtake them. Drops happen in the emulator
 * (smnDropRate), or here for direct intake. Whatever is lost, the sweep must recover.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Random } from '../../emulator/seeded-random.ts';
import { runDirectIntake } from '../../lib/intake/direct-intake.ts';
import {
  composeIntakeRuntime,
  type IntakeParts,
  type IntakeRuntime,
} from '../../lib/intake/intake-runtime.ts';
import { handleWebhookRequest } from '../../lib/intake/webhook-http.ts';

export interface EventMangling {
  dropRate: number;
  duplicateRate: number;
  delayRate: number;
  /** Upper bound of a hold-back, in real milliseconds. */
  maxDelayMs: number;
}

export interface EventCounts {
  delivered: number;
  duplicated: number;
  delayed: number;
  dropped: number;
  /** Deliveries the intake refused (stale after a hold-back, queue trouble): recovered by the sweep. */
  refused: number;
}

export class EventRelay {
  readonly counts: EventCounts = { delivered: 0, duplicated: 0, delayed: 0, dropped: 0, refused: 0 };
  /** Every response body the webhook gave (scanned for secrets). */
  readonly responses: string[] = [];
  readonly #parts: IntakeParts;
  readonly #intake: IntakeRuntime;
  readonly #random: Random;
  readonly #mangling: EventMangling;
  readonly #pending = new Set<Promise<void>>();
  #server: Server | undefined;

  constructor(parts: IntakeParts, random: Random, mangling: EventMangling) {
    this.#parts = parts;
    this.#intake = composeIntakeRuntime(parts);
    this.#random = random;
    this.#mangling = mangling;
  }

  get intake(): IntakeRuntime {
    return this.#intake;
  }

  /** Deliveries still held back or in progress. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Starts the loopback webhook; returns its URL. */
  async listen(): Promise<string> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const headers = Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]),
        );
        const isNotification = headers['x-smn-message-type'] === 'Notification';
        if (!isNotification) {
          // Subscription handshakes go straight through: the campaign is about events.
          void this.#deliverSmn(this.#intake, body, headers).then((status) => {
            res.writeHead(status).end();
          });
          return;
        }
        // SMN got its 200; what happens to the event next is the chaos.
        res.writeHead(200).end();
        this.#mangle(() => this.#deliverSmn(this.#freshOrSame(), body, headers).then(() => undefined));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/smn`;
  }

  /** A pipeline or operator names servers directly (drops apply per server). */
  direct(serverIds: readonly string[], target: { projectId: string; region: string }): void {
    const kept = serverIds.filter(() => {
      if (this.#random.next() < this.#mangling.dropRate) {
        this.counts.dropped++;
        return false;
      }
      return true;
    });
    if (kept.length === 0) return;
    this.#mangle(async () => {
      try {
        const result = await runDirectIntake(this.#freshOrSame(), {
          ...target,
          serverIds: kept,
          jobId: undefined,
        });
        this.responses.push(JSON.stringify(result));
      } catch (error) {
        this.counts.refused++;
        this.responses.push(error instanceof Error ? error.message : String(error));
      }
    });
  }

  /** Resolves when nothing is held back or being delivered. */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  async close(): Promise<void> {
    await this.drain();
    await new Promise<void>((resolve) => {
      if (!this.#server) resolve();
      else {
        this.#server.close(() => resolve());
        this.#server.closeAllConnections();
      }
    });
  }

  /** Half the duplicates reach a new instance (empty dedupe cache), as a second Lambda would. */
  #freshOrSame(): IntakeRuntime {
    return this.#random.next() < 0.5 ? this.#intake : composeIntakeRuntime(this.#parts);
  }

  #mangle(deliver: () => Promise<void>): void {
    const copies = this.#random.next() < this.#mangling.duplicateRate ? 2 : 1;
    if (copies === 2) this.counts.duplicated++;
    for (let i = 0; i < copies; i++) {
      const delayed = this.#random.next() < this.#mangling.delayRate;
      if (delayed) this.counts.delayed++;
      const delayMs = delayed ? Math.round(this.#random.next() * this.#mangling.maxDelayMs) : 0;
      const task = (async () => {
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        this.counts.delivered++;
        await deliver();
      })();
      this.#pending.add(task);
      void task.finally(() => this.#pending.delete(task));
    }
  }

  async #deliverSmn(
    intake: IntakeRuntime,
    body: string,
    headers: Record<string, string | undefined>,
  ): Promise<number> {
    const response = await handleWebhookRequest(intake, { method: 'POST', headers, body });
    this.responses.push(response.body);
    if (response.statusCode >= 300) this.counts.refused++;
    return response.statusCode;
  }
}
