import { describe, expect, it } from 'vitest';
import {
  CachingCredentialProvider,
  type CredentialProvider,
  type ResolvedCredentials,
  staticCredentialProvider,
} from '../../../lib/huawei/credentials.ts';
import { redactText } from '../../../lib/observability/redact.ts';
import { FakeClock } from './fake-clock.ts';

/** A source whose fetches the test resolves or rejects by hand. */
class ManualSource implements CredentialProvider {
  calls = 0;
  pending: Array<{ resolve: (c: ResolvedCredentials) => void; reject: (e: unknown) => void }> = [];
  getCredentials(): Promise<ResolvedCredentials> {
    this.calls++;
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }
}

const temp = (n: number, expiresAt: number): ResolvedCredentials => ({
  accessKey: `TEMPAK${n}xxxxxxxx`,
  secretKey: `TEMPSK${n}-secret-value`,
  securityToken: `TEMPTOKEN${n}-long-token`,
  expiresAt: new Date(expiresAt),
});

describe('CachingCredentialProvider', () => {
  it('fetches once for concurrent callers (single flight) and serves the cache until refresh is due', async () => {
    const clock = new FakeClock();
    const source = new ManualSource();
    const provider = new CachingCredentialProvider(source, { clock, refreshAheadMs: 60_000 });
    const a = provider.getCredentials();
    const b = provider.getCredentials();
    expect(source.calls).toBe(1);
    source.pending[0]!.resolve(temp(1, clock.now() + 15 * 60_000));
    expect((await a).accessKey).toBe('TEMPAK1xxxxxxxx');
    expect(await b).toBe(await a);

    await clock.advance(13 * 60_000);
    expect((await provider.getCredentials()).accessKey).toBe('TEMPAK1xxxxxxxx');
    expect(source.calls).toBe(1);

    await clock.advance(60_000); // now inside the refresh-ahead window
    const refreshed = provider.getCredentials();
    expect(source.calls).toBe(2);
    source.pending[1]!.resolve(temp(2, clock.now() + 15 * 60_000));
    expect((await refreshed).accessKey).toBe('TEMPAK2xxxxxxxx');
  });

  it('keeps using still-valid credentials when a refresh fails, and fails once they have expired', async () => {
    const clock = new FakeClock();
    const source = new ManualSource();
    const provider = new CachingCredentialProvider(source, { clock, refreshAheadMs: 5 * 60_000 });
    const first = provider.getCredentials();
    source.pending[0]!.resolve(temp(1, clock.now() + 10 * 60_000));
    await first;

    await clock.advance(6 * 60_000);
    const during = provider.getCredentials();
    source.pending[1]!.reject(new Error('IAM unavailable'));
    expect((await during).accessKey).toBe('TEMPAK1xxxxxxxx');

    await clock.advance(5 * 60_000);
    const after = provider.getCredentials();
    source.pending[2]!.reject(new Error('IAM unavailable'));
    await expect(after).rejects.toThrow('IAM unavailable');
  });

  it('never refreshes credentials without an expiry', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const provider = new CachingCredentialProvider(
      {
        getCredentials: async () => {
          calls++;
          return { accessKey: 'LONGLIVEDAK', secretKey: 'LONGLIVEDSK-secret' };
        },
      },
      { clock },
    );
    await provider.getCredentials();
    await clock.advance(365 * 24 * 3600_000);
    await provider.getCredentials();
    expect(calls).toBe(1);
  });

  it('lets one caller give up without failing the shared fetch for the others', async () => {
    const clock = new FakeClock();
    const source = new ManualSource();
    const provider = new CachingCredentialProvider(source, { clock });
    const controller = new AbortController();
    const impatient = provider.getCredentials(controller.signal);
    const patient = provider.getCredentials();
    controller.abort(new Error('deadline'));
    await expect(impatient).rejects.toThrow('deadline');
    source.pending[0]!.resolve(temp(3, clock.now() + 60 * 60_000));
    expect((await patient).accessKey).toBe('TEMPAK3xxxxxxxx');
  });
});

describe('credential redaction', () => {
  it('registers handed-out secrets so no log line can carry them', async () => {
    const creds = await staticCredentialProvider({
      accessKey: 'STATICAKEXAMPLE01',
      secretKey: 'STATICSKEXAMPLEsecret01',
      securityToken: 'STATICTOKENEXAMPLE01',
    }).getCredentials();
    const line = redactText(`signing with ${creds.accessKey} ${creds.secretKey} ${creds.securityToken}`);
    expect(line).not.toContain('STATICSKEXAMPLE');
    expect(line).not.toContain('STATICTOKENEXAMPLE');
    expect(line).not.toContain('STATICAKEXAMPLE');
  });
});
