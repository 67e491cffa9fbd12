/**
 * The guest snippet (guest/posted-notify.ps1), checked without PowerShell: no PowerShell is
 * installable from the registries this project reaches (Debian, npm), so this harness checks
 * the script's structure and evaluates the parts that must agree with the hook: the metadata
 * paths, the signed message's format (the `-f` format string applied to its arguments, as
 * PowerShell would), the HMAC and its hex encoding against the hook's verifier on a known
 * vector, the body's fields, the bounds, and that the rendered script carries its values and
 * reads back. (Its syntax was checked with the tree-sitter PowerShell grammar; see the README.)
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  POSTED_SNIPPET_MARKER,
  PostedSnippetError,
  postedSnippetTemplate,
  readPostedSnippet,
  renderPostedSnippet,
} from '../../../guest/posted-snippet.ts';
import {
  postedSignatureMessage,
  signPosted,
  verifyPosted,
} from '../../../lib/intake/posted/posted-signature.ts';

const template = postedSnippetTemplate();
/** The script without comments, so checks see code only. */
const code = template
  .split('\n')
  .filter((line) => !line.trimStart().startsWith('#'))
  .join('\n');

/** A fixed vector: key, ids, time and the HMAC-SHA256 hex computed once with openssl dgst -hmac. */
const VECTOR = {
  key: 'example-deployment-key-0123456789abcdef',
  serverId: '53206ed0-56de-4d6b-b7ee-ffc62ca26f43',
  projectId: '0a419ac94f80f2c62f14c01e34abcdef',
  timestamp: 1_790_000_000,
};

describe('guest/posted-notify.ps1', () => {
  it('is Cloudbase-Init PowerShell user data, marked, and self-contained', () => {
    expect(template.split('\n')[0]).toBe('#ps1_sysnative');
    expect(template).toContain(POSTED_SNIPPET_MARKER);
    // Appendable to an operator's own script: one scope block, no exit, no Terraform ${ or %{.
    expect(code.trim().startsWith('& {')).toBe(true);
    expect(code).not.toMatch(/\bexit\b/i);
    expect(template).not.toContain('${');
    expect(template).not.toContain('%{');
  });

  it('reads its own record and identity from the documented metadata paths', () => {
    expect(code).toContain("$metadata = 'http://169.254.169.254/openstack/latest'");
    expect(code).toContain('"$metadata/password"');
    expect(code).toContain('"$metadata/meta_data.json"');
    expect(code).toContain('$meta.uuid');
    expect(code).toContain('$meta.project_id');
  });

  it('only tests the record for emptiness and never sends or keeps it', () => {
    expect(code).toContain('([string]$record.Content).Trim().Length -gt 0');
    expect(code).toContain('$record = $null');
    const body = /\$body = @\{([^}]*)\}/.exec(code)?.[1] ?? '';
    const fields = [...body.matchAll(/(\w+)\s*=/g)].map((m) => m[1]).sort();
    expect(fields).toEqual(['project_id', 'server_id', 'settled', 'signature', 'timestamp']);
    expect(code).toContain("-ContentType 'application/json'");
    expect([...code.matchAll(/\$record\b/g)].length).toBe(4);
  });

  it('signs the message the hook verifies (the -f format applied as PowerShell would)', () => {
    const m = /\$message = '([^']*)' -f \$serverId, \$projectId, \$timestamp/.exec(code);
    expect(m).not.toBeNull();
    const args = [VECTOR.serverId, VECTOR.projectId, String(VECTOR.timestamp)];
    const message = m![1]!.replace(/\{(\d)\}/g, (_, i: string) => args[Number(i)]!);
    expect(message).toBe(postedSignatureMessage(VECTOR.serverId, VECTOR.projectId, VECTOR.timestamp));
    // "settled" is bound into the signed message exactly as the hook expects it.
    const suffix = /if \(\$settled\) \{ \$message \+= '([^']*)' \}/.exec(code)?.[1];
    expect(`${message}${suffix}`).toBe(
      postedSignatureMessage(VECTOR.serverId, VECTOR.projectId, VECTOR.timestamp, true),
    );
    // The key is used as its UTF-8 bytes, the digest as lower-case hex ('x2'), timestamp whole seconds.
    expect(code).toContain('$keyBytes = [Text.Encoding]::UTF8.GetBytes($HmacKey)');
    expect(code).toContain("$_.ToString('x2')");
    expect(code).toContain('[int64][Math]::Floor(');
    expect(code).toContain('System.Security.Cryptography.HMACSHA256');
  });

  it('agrees with the hook on a known vector', () => {
    const key = Buffer.from(VECTOR.key, 'utf8');
    const independent = createHmac('sha256', key)
      .update(`${VECTOR.serverId}.${VECTOR.projectId}.${VECTOR.timestamp}`)
      .digest('hex');
    expect(independent).toBe('f4aaf9a82027371208f5257e0b890ec754ffb759f4a7c7b4f6487b16bc4b1dd3');
    expect(signPosted(key, VECTOR.serverId, VECTOR.projectId, VECTOR.timestamp)).toBe(independent);
    expect(verifyPosted(key, VECTOR.serverId, VECTOR.projectId, VECTOR.timestamp, independent)).toBe(true);
    // A v1 signature does not vouch for "settled", and a settled one only for settled.
    expect(verifyPosted(key, VECTOR.serverId, VECTOR.projectId, VECTOR.timestamp, independent, true)).toBe(
      false,
    );
    const settled = createHmac('sha256', key)
      .update(`${VECTOR.serverId}.${VECTOR.projectId}.${VECTOR.timestamp}.settled`)
      .digest('hex');
    expect(verifyPosted(key, VECTOR.serverId, VECTOR.projectId, VECTOR.timestamp, settled, true)).toBe(true);
    expect(verifyPosted(key, VECTOR.serverId, VECTOR.projectId, VECTOR.timestamp, settled)).toBe(false);
    expect(verifyPosted(key, VECTOR.serverId, VECTOR.projectId, VECTOR.timestamp + 1, independent)).toBe(
      false,
    );
    expect(
      verifyPosted(key, VECTOR.serverId, VECTOR.projectId, VECTOR.timestamp, independent.toUpperCase()),
    ).toBe(false);
  });

  it('reads the password plugin status where Cloudbase-Init writes it, for this instance', () => {
    // osutils/windows.py: HKLM\SOFTWARE\Cloudbase Solutions\Cloudbase-Init\<section>, section
    // "<instance id>/Plugins" (init.py), value = the plugin's class name, 1 = PLUGIN_EXECUTION_DONE.
    expect(code).toContain('"HKLM:\\SOFTWARE\\Cloudbase Solutions\\Cloudbase-Init\\$serverId\\Plugins"');
    expect(code).toContain(
      '"HKLM:\\SOFTWARE\\WOW6432Node\\Cloudbase Solutions\\Cloudbase-Init\\$serverId\\Plugins"',
    );
    expect(code).toContain("-Name 'SetUserPasswordPlugin'");
    expect(code).toContain('if ($pluginStatus -eq 1) { $settled = $true }');
    // The server id comes from meta_data.json before the registry is read.
    expect(code.indexOf('$serverId = [string]$meta.uuid')).toBeLessThan(code.indexOf('$pluginKeys'));
    expect(code).toContain('settled = $settled;');
  });

  it('is bounded and never blocks the boot', () => {
    expect(code).toContain('(Get-Date).AddMinutes(20)');
    expect(code).toContain('(Get-Date).AddSeconds(60)');
    expect(code).toContain('(Get-Date).AddMinutes(5)');
    expect(code).toContain('[Math]::Min($delay * 2, 60)');
    // The waiting runs in a detached, hidden process; the user-data script itself returns at once.
    expect(code).toContain('Start-Process -FilePath (Join-Path $PSHOME');
    expect(code).toContain("'-EncodedCommand'");
    expect(code).not.toContain('-Wait');
    const outside = code.slice(code.lastIndexOf('try {'));
    expect(outside).not.toContain('Start-Sleep');
    // Every web call has a timeout.
    for (const call of code.matchAll(/Invoke-(?:WebRequest|RestMethod)[^\n]*/g))
      expect(call[0]).toContain('-TimeoutSec');
  });

  it('renders values into single-quoted strings and reads them back', () => {
    const rendered = renderPostedSnippet({
      hookUrl: "https://hook.example/posted?x='1'",
      hmacKey: "k'ey".padEnd(40, 'x'),
    });
    expect(rendered).toContain("$HookUrl = 'https://hook.example/posted?x=''1'''");
    expect(rendered).not.toContain('__HOOK_URL__');
    expect(rendered).not.toContain('__HMAC_KEY__');
    expect(readPostedSnippet(rendered)).toEqual({
      hookUrl: "https://hook.example/posted?x='1'",
      hmacKey: "k'ey".padEnd(40, 'x'),
      projectIdFallback: undefined,
    });
    // The template itself, or user data without the marker, carries no snippet.
    expect(readPostedSnippet(template)).toBeUndefined();
    expect(readPostedSnippet("#ps1_sysnative\n$HookUrl = 'https://x'\n$HmacKey = 'y'")).toBeUndefined();
    expect(() => renderPostedSnippet({ hookUrl: 'ftp://x/posted', hmacKey: 'k' })).toThrow(
      PostedSnippetError,
    );
    expect(() => renderPostedSnippet({ hookUrl: 'https://x/posted', hmacKey: 'a\nb' })).toThrow(
      PostedSnippetError,
    );
  });
});
