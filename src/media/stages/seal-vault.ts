/** Stage: the secrets (asked for only now that the inputs checked out), sealed into the vault. */
import { randomBytes } from 'node:crypto';
import { type VaultPayload, sealVault, serialiseVault } from '../../secrets/index.js';
import type { Site } from '../../site/index.js';
import { sha256FileInWorker } from '../../util/hash-worker.js';
import { type BuildStage, need } from './context.js';

function buildIdFor(site: Site, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${site.site.id}-${stamp}-${randomBytes(2).toString('hex')}`;
}

export const sealTheVault: BuildStage = {
  id: 'seal-vault',
  async run(ctx) {
    const site = need(ctx.site, 'the site');
    const secrets = await ctx.options.secrets(site);
    ctx.secrets = secrets;
    ctx.buildId = buildIdFor(site, ctx.now);
    // scrypt (in the thread pool, 128 MiB) runs while the autostart is added; composing \lifeboat\ waits for it.
    ctx.say('sealing the vault');
    const payload: VaultPayload = {
      share: { user: site.share.user, domain: site.share.domain, password: secrets.sharePassword },
      veeamEncryptionPassword: secrets.veeamEncryptionPassword,
    };
    ctx.vault = sealVault(payload, secrets.unlock, site.site.id).then(serialiseVault);
    // The base's hash (for the report) is taken in a worker, alongside the rest of the build, after scrypt's peak.
    ctx.baseSha256 = ctx.vault.then(() => sha256FileInWorker(ctx.options.base));
    for (const p of [ctx.vault, ctx.baseSha256]) p.catch(() => undefined); // awaited later; a failure surfaces there
  },
};
