/**
 * lib/huawei/http-transport.ts imports two of undici's internal files instead of its index
 * (README, Performance: about 260 KB less bundle and 16 ms less import). Internal paths may
 * move in any release, so undici is pinned exactly and this test fails first if they do.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>;
};

describe('undici deep imports', () => {
  it('pins undici to one exact version, the one installed', () => {
    const pinned = manifest.dependencies['undici'];
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect((require('undici/package.json') as { version: string }).version).toBe(pinned);
  });

  it('finds Agent and request where http-transport.ts imports them', async () => {
    const { default: Agent } = await import('undici/lib/dispatcher/agent.js');
    const { default: request } = await import('undici/lib/api/api-request.js');
    // The deep Agent is the very class the public entry exports, not a look-alike.
    expect(Agent).toBe((await import('undici')).Agent);
    expect(typeof request).toBe('function');
    const agent = new Agent();
    expect(typeof agent.dispatch).toBe('function');
    await agent.close();
  });
});
