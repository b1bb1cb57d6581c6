import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { format, inspect } from 'node:util';
import { InputError } from '../../src/errors.js';
import { checkPassphrase } from '../../src/secrets/passphrase.js';
import {
  dammCheckDigit,
  formatRecoveryCode,
  generateRecoveryCode,
  groupCheckDigit,
  isValidGroup,
  looksLikeRecoveryCode,
  parseRecoveryCode,
  RECOVERY_CODE_BITS,
  RecoveryCodeError,
  unlockSecretFromInput,
} from '../../src/secrets/recovery-code.js';
import {
  base64Fragments,
  findSecretBytes,
  redact,
  scanFileForSecrets,
  scanStreamForSecrets,
} from '../../src/secrets/redact.js';
import { Secret } from '../../src/secrets/secret.js';
import { getSecret, promptSecret, readSecretEnv, readSecretFile, type PasswordPrompter } from '../../src/secrets/sources.js';
import {
  openVault,
  parseVault,
  sealVault,
  serialiseVault,
  VaultFormatError,
  VaultSiteMismatchError,
  VaultUnlockError,
  VaultVersionError,
  type VaultFile,
} from '../../src/secrets/vault.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lifeboat-secrets-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Secret', () => {
  const value = 'Tr0ub4dor&3-horse';

  test('never shows itself', () => {
    const secret = new Secret(value);
    const outputs = [
      String(secret),
      `${secret}`,
      'x' + secret,
      JSON.stringify(secret),
      JSON.stringify({ password: secret, nested: [secret] }),
      inspect(secret),
      inspect({ deep: { password: secret } }, { depth: 10, showHidden: true }),
      format('%s %o %O %j %d', secret, secret, { secret }, { secret }, secret),
      secret.toLocaleString(),
      Object.prototype.toString.call(secret),
    ];
    for (const output of outputs) assert.ok(!output.includes(value) && !output.includes('horse'), output);
    assert.equal(String(secret), '***');
    assert.equal(JSON.stringify({ p: secret }), '{"p":"***"}');
    assert.deepEqual(Object.keys(secret), []);
  });

  test('console.log prints ***', () => {
    const secret = new Secret(value);
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stdout.write;
    try {
      console.log(secret);
      console.log({ secret });
      console.log('%s', secret);
    } finally {
      process.stdout.write = original;
    }
    assert.ok(written.join('').includes('***'));
    assert.ok(!written.join('').includes(value));
  });

  test('reveal, equals and wipe', () => {
    const bytes = Buffer.from(value);
    const secret = new Secret(bytes);
    bytes.fill(0); // the Secret holds its own copy
    assert.equal(secret.reveal(), value);
    assert.ok(secret.equals(new Secret(value)));
    assert.ok(!secret.equals(new Secret(`${value}!`)));
    const copy = secret.revealBytes();
    copy.fill(0);
    assert.equal(secret.reveal(), value);
    secret.wipe();
    assert.ok(secret.wiped);
    assert.throws(() => secret.reveal(), /wiped/);
    assert.equal(String(secret), '***');
  });
});

describe('vault', () => {
  const siteId = 'muster-stb';
  const unlock = new Secret('correct horse battery staple');
  const payload = {
    share: { user: 'svc-restore', domain: 'MUSTER', password: new Secret('N4s-P@ssw0rd "quoted" \\ ü') },
    veeamEncryptionPassword: new Secret('veeam-enc-pass'),
  };
  let vault: VaultFile;

  before(async () => {
    vault = await sealVault(payload, unlock, siteId);
  });

  const mutate = (change: (v: Record<string, unknown> & { kdf: Record<string, unknown> }) => void): string => {
    const copy = JSON.parse(serialiseVault(vault)) as Record<string, unknown> & { kdf: Record<string, unknown> };
    change(copy);
    return JSON.stringify(copy);
  };

  test('round trip', async () => {
    const text = serialiseVault(vault);
    assert.equal(vault.format, 'lifeboat-vault');
    assert.equal(vault.version, 1);
    assert.equal(vault.siteId, siteId);
    assert.deepEqual(vault.kdf.N, 2 ** 17);
    assert.equal(Buffer.from(vault.iv, 'base64').length, 12);
    assert.ok(!text.includes('N4s-P@ssw0rd') && !text.includes('svc-restore'), 'nothing in clear but the site id');
    assert.deepEqual(findSecretBytes(Buffer.from(text), [payload.share.password, unlock]), []);
    const opened = await openVault(text, unlock, siteId);
    assert.equal(opened.share.user, 'svc-restore');
    assert.equal(opened.share.domain, 'MUSTER');
    assert.equal(opened.share.password.reveal(), payload.share.password.reveal());
    assert.equal(opened.veeamEncryptionPassword?.reveal(), 'veeam-enc-pass');
    assert.equal(JSON.stringify(opened), '{"share":{"user":"svc-restore","password":"***","domain":"MUSTER"},"veeamEncryptionPassword":"***"}');
  });

  test('wrong secret', async () => {
    await assert.rejects(openVault(serialiseVault(vault), new Secret('correct horse battery stapler'), siteId), (error: unknown) => {
      assert.ok(error instanceof VaultUnlockError && error instanceof InputError);
      assert.equal(error.message, 'cannot unlock the vault: wrong unlock secret or the vault was altered');
      assert.match(error.hint ?? '', /recovery code/);
      return true;
    });
  });

  test('tampered ciphertext', async () => {
    const tampered = mutate((v) => {
      const bytes = Buffer.from(v.ciphertext as string, 'base64');
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      v.ciphertext = bytes.toString('base64');
    });
    await assert.rejects(openVault(tampered, unlock, siteId), VaultUnlockError);
  });

  test('site id: moved to another site, or relabelled', async () => {
    await assert.rejects(openVault(serialiseVault(vault), unlock, 'other-site'), (error: unknown) => {
      assert.ok(error instanceof VaultSiteMismatchError);
      assert.equal(error.message, 'this vault belongs to site "muster-stb", not to "other-site"');
      return true;
    });
    // Relabelling the clear site id does not help: it is authenticated.
    const relabelled = mutate((v) => {
      v.siteId = 'other-site';
    });
    await assert.rejects(openVault(relabelled, unlock, 'other-site'), VaultUnlockError);
  });

  test('unknown version and malformed fields are named (no key derivation needed)', async () => {
    const cases: [string, RegExp | typeof VaultVersionError][] = [
      [mutate((v) => (v.version = 2)), /format version 2; this Lifeboat reads version 1/],
      ['{not json', /^vault\.json: is not valid JSON/],
      ['[]', /^vault\.json: must be a JSON object$/],
      [mutate((v) => (v.format = 'other')), /^vault\.json: format: expected "lifeboat-vault", got "other"$/],
      [mutate((v) => (v.version = '1')), /^vault\.json: version: expected a whole number, got "1"$/],
      [mutate((v) => delete v.siteId), /^vault\.json: siteId: expected a site id .* got nothing \(field missing\)$/],
      [mutate((v) => (v.cipher = 'aes-128-cbc')), /^vault\.json: cipher: expected "aes-256-gcm"/],
      [mutate((v) => (v.iv = 'AAAA')), /^vault\.json: iv: expected 12 bytes, got 3$/],
      [mutate((v) => (v.tag = 'not base64!')), /^vault\.json: tag: expected base64 text$/],
      [mutate((v) => delete v.ciphertext), /^vault\.json: ciphertext: expected base64 text$/],
      [mutate((v) => (v.kdf.name = 'pbkdf2')), /^vault\.json: kdf\.name: expected "scrypt", got "pbkdf2"$/],
      [mutate((v) => (v.kdf.salt = '')), /^vault\.json: kdf\.salt: expected 16 to 64 bytes, got 0$/],
      [mutate((v) => (v.extra = 1)), /^vault\.json: extra: unknown field$/],
    ];
    for (const [input, expected] of cases) {
      await assert.rejects(openVault(input, unlock, siteId), (error: unknown) => {
        assert.ok(error instanceof InputError, String(error));
        if (expected instanceof RegExp) assert.match(error.message, expected);
        return true;
      });
    }
    await assert.rejects(openVault(mutate((v) => (v.version = 2)), unlock, siteId), (error: unknown) => {
      assert.ok(error instanceof VaultVersionError);
      assert.match(error.hint ?? '', /built by a newer Lifeboat/);
      return true;
    });
    assert.throws(() => parseVault('x'.repeat(70_000)), /at most 65536/);
  });

  test('hostile KDF parameters are refused before any work', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ N: 2 ** 16 }, /kdf\.N: 65536 is too weak/],
      [{ N: 1000 }, /kdf\.N: must be a power of 2/],
      [{ N: 2 ** 30 }, /kdf\.N: .* larger than/],
      [{ N: 2 ** 20, r: 32 }, /kdf\.r: .* needs 4096 MiB/],
      [{ r: 1 }, /kdf\.r: must be between 8 and 32/],
      [{ p: 1_000_000 }, /kdf\.p: must be between 1 and 16/],
      [{ N: 2 ** 18, p: 16 }, /kdf\.p: .* 32 times the default work/],
      [{ N: -1 }, /kdf\.N: expected a positive whole number/],
      [{ N: '131072' }, /kdf\.N: expected a positive whole number/],
      [{ r: 8.5 }, /kdf\.r: expected a positive whole number/],
    ];
    for (const [params, expected] of cases) {
      const started = Date.now();
      await assert.rejects(
        openVault(mutate((v) => Object.assign(v.kdf, params)), unlock, siteId),
        (error: unknown) => error instanceof VaultFormatError && expected.test(error.message),
        `${JSON.stringify(params)} should fail with ${String(expected)}`,
      );
      assert.ok(Date.now() - started < 100, 'refused without deriving a key');
    }
    await assert.rejects(sealVault(payload, unlock, siteId, { kdf: { N: 2 ** 10, r: 8, p: 1 } }), RangeError);
    await assert.rejects(sealVault(payload, unlock, 'Not An Id'), InputError);
  });
});

describe('recovery code', () => {
  test('Damm check digits: known vector', () => {
    // Damm's example: 572 -> check digit 4.
    assert.equal(dammCheckDigit([5, 7, 2]), 4);
    assert.equal(dammCheckDigit([5, 7, 2, 4]), 0);
  });

  test('every single-digit substitution and adjacent transposition in a group is caught', () => {
    // Exhaustive over all 8 groups x 10^4 data values. A typed group [d1..d4, c] is accepted at position g exactly
    // when the Damm check over (g, d1..d4, c) is 0; isValidGroup is compared against that on the valid groups.
    const sequence = [0, 0, 0, 0, 0, 0];
    const accepted = (group: number, digits: readonly number[]) => {
      sequence[0] = group;
      for (let i = 0; i < 5; i++) sequence[i + 1] = digits[i] ?? 0;
      return dammCheckDigit(sequence) === 0;
    };
    let checked = 0;
    for (let group = 1; group <= 8; group++) {
      for (let n = 0; n < 10_000; n++) {
        const data = String(n).padStart(4, '0');
        const valid = [...(data + groupCheckDigit(group, data))].map(Number);
        if (n % 97 === 0) assert.ok(isValidGroup(group, valid.join('')));
        assert.ok(accepted(group, valid));
        for (let pos = 0; pos < 5; pos++) {
          const original = valid[pos] ?? 0;
          for (let d = 0; d < 10; d++) {
            if (d === original) continue;
            valid[pos] = d;
            if (accepted(group, valid)) assert.fail(`substitution not caught at ${pos} in ${data} (group ${group})`);
            checked++;
          }
          valid[pos] = original;
          const next = valid[pos + 1];
          if (pos < 4 && next !== undefined && next !== original) {
            const swapped = [...valid];
            swapped[pos] = next;
            swapped[pos + 1] = original;
            if (accepted(group, swapped)) assert.fail(`transposition not caught at ${pos} in ${data}`);
            checked++;
          }
        }
        // The same group typed at another position is caught too.
        for (let other = 1; other <= 8; other++) {
          if (other !== group && accepted(other, valid)) assert.fail(`${data} valid in group ${group} and ${other}`);
        }
      }
    }
    assert.ok(checked > 3_000_000);
    // And through the public parser, a sample of substitutions in a real code.
    const code = generateRecoveryCode().reveal();
    for (let i = 0; i < code.length; i++) {
      if (code[i] === '-') continue;
      const typo = code.slice(0, i) + String((Number(code[i]) + 3) % 10) + code.slice(i + 1);
      const parsed = parseRecoveryCode(typo);
      assert.ok(!parsed.ok);
      assert.deepEqual(parsed.problems.map((p) => p.group), [Math.floor(i / 6) + 1]);
    }
  });

  test('generated codes: format, validity, entropy', () => {
    assert.ok(RECOVERY_CODE_BITS > 106);
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const code = generateRecoveryCode();
      const text = code.reveal();
      assert.match(text, /^\d{5}(-\d{5}){7}$/);
      assert.equal(String(code), '***');
      const parsed = parseRecoveryCode(text);
      assert.ok(parsed.ok);
      assert.equal(parsed.code.reveal(), text);
      seen.add(text);
    }
    assert.equal(seen.size, 50);
  });

  test('parsing is tolerant of separators and reports typos per group', () => {
    const code = generateRecoveryCode().reveal();
    const digits = code.replace(/-/g, '');
    for (const typed of [digits, code.replace(/-/g, ' '), ` ${code.replace(/-/g, ' - ')}  `, code.replace(/-/g, '\u2013'), digits.replace(/(\d{4})/g, '$1 ')]) {
      const parsed = parseRecoveryCode(typed);
      assert.ok(parsed.ok, `${typed}: ${parsed.ok ? '' : parsed.message}`);
      assert.equal(parsed.code.reveal(), code);
    }
    assert.equal(formatRecoveryCode(digits), code);

    const groups = code.split('-');
    const typo = [...groups];
    typo[2] = (groups[2] ?? '').replace(/^./, (d) => String((Number(d) + 1) % 10));
    typo[6] = (groups[6] ?? '').replace(/^(.)(.)/, '$2$1');
    const parsed = parseRecoveryCode(typo.join(' '));
    assert.ok(!parsed.ok);
    const expected = ['group 3 has a typo'];
    if (groups[6]?.[0] !== groups[6]?.[1]) expected.push('group 7 has a typo');
    assert.deepEqual(
      parsed.problems.map((p) => p.message),
      expected,
    );
    assert.equal(parsed.problems[0]?.group, 3);

    const swappedGroups = [groups[1], groups[0], ...groups.slice(2)].join('-');
    const swapped = parseRecoveryCode(swappedGroups);
    assert.ok(!swapped.ok && swapped.problems.some((p) => p.group === 1));

    const short = [...groups];
    short[4] = (groups[4] ?? '').slice(0, 4);
    const shortParsed = parseRecoveryCode(short.join(' '));
    assert.ok(!shortParsed.ok);
    assert.deepEqual(shortParsed.problems.map((p) => p.message), ['group 5 has 4 digits, not 5']);

    const wrongLength = parseRecoveryCode('12345 67890');
    assert.ok(!wrongLength.ok);
    assert.match(wrongLength.message, /40 digits in 8 groups of 5; 10 digits were entered/);

    const letter = parseRecoveryCode(`${code.slice(0, 7)}O${code.slice(8)}`);
    assert.ok(!letter.ok);
    assert.match(letter.message, /character 8 is not a digit/);
    assert.ok(!letter.message.includes(code.slice(0, 5)), 'errors never echo the code');
  });

  test('unlock input: codes are canonicalised, passphrases kept', () => {
    const code = generateRecoveryCode().reveal();
    assert.equal(unlockSecretFromInput(new Secret(code.replace(/-/g, ' '))).reveal(), code);
    assert.equal(unlockSecretFromInput(new Secret('correct horse battery staple')).reveal(), 'correct horse battery staple');
    assert.ok(looksLikeRecoveryCode(code) && !looksLikeRecoveryCode('correct horse'));
    const broken = code.replace(/^(\d)/, (d) => String((Number(d) + 5) % 10));
    assert.throws(() => unlockSecretFromInput(new Secret(broken)), (error: unknown) => {
      assert.ok(error instanceof RecoveryCodeError && error instanceof InputError);
      assert.match(error.message, /group 1 has a typo/);
      return true;
    });
  });

  test('a recovery code unlocks a vault typed with spaces', async () => {
    const code = generateRecoveryCode();
    const vault = await sealVault({ share: { user: 'u', password: new Secret('p-a-s-s') } }, code, 'site-1');
    const typed = new Secret(` ${code.reveal().replace(/-/g, '  ')} `);
    const opened = await openVault(JSON.stringify(vault), unlockSecretFromInput(typed), 'site-1');
    assert.equal(opened.share.password.reveal(), 'p-a-s-s');
  });
});

describe('passphrase', () => {
  const context = { siteName: 'Muster Steuerberatung', siteId: 'muster-stb', user: 'svc-restore', domain: 'MUSTER' };
  const cases: [string, RegExp | true][] = [
    ['correct horse battery staple', true],
    ['Tisch-Lampe-Vogel-Regen', true],
    ['Kx9#mPq2!vRw7&Ln', true],
    ['first study now win', true],
    ['short', /has 5 characters; use at least 14/],
    ['Tr0ub4dor&3xy', /has 13 characters/],
    ['aaaaaaaaaaaaaaaaab', /uses only 2 different characters/],
    ['1234567890123456', /has only digits/],
    ['Sommer2024!Sommer2024!', /repeats the same part/],
    ['hello world hello world', /repeats the same part/],
    ['P4ssw0rd-Secret-2024', /common word "password"/],
    ['Willkommen2023!!', /common word "willkommen"/],
    ['abcdefghijklmnopq', /sequence, repetition or keyboard pattern/],
    ['qwertzuiop123456789', /sequence, repetition or keyboard pattern/],
    ['Muster Steuerberatung', /is the site name$/],
    ['Muster Steuerberatung 2024', /is the site name with a few characters added/],
    ['svc-restore-svc-restore!', /repeats|site's own names|user/],
    ['muster-stb-2024-backup', /site's own names/],
    ['line one\nline two here', /line break/],
    [' leading space passphrase', /starts or ends with a space/],
  ];
  for (const [passphrase, expected] of cases) {
    test(`${JSON.stringify(passphrase)} -> ${expected === true ? 'ok' : String(expected)}`, () => {
      const result = checkPassphrase(passphrase, context);
      if (expected === true) assert.deepEqual(result, { ok: true });
      else {
        assert.ok(!result.ok);
        assert.match(result.reason, expected);
      }
    });
  }
  test('accepts a Secret', () => {
    assert.deepEqual(checkPassphrase(new Secret('correct horse battery staple')), { ok: true });
  });
});

describe('secret sources', () => {
  test('file: one trailing newline removed, CRLF too, BOM dropped', async () => {
    const cases: [string | Buffer, string][] = [
      ['s3cret-pass\n', 's3cret-pass'],
      ['s3cret-pass\r\n', 's3cret-pass'],
      ['s3cret-pass', 's3cret-pass'],
      [' spaced pass ', ' spaced pass '],
      [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('bom-pass\n')]), 'bom-pass'],
    ];
    for (const [content, expected] of cases) {
      const file = path.join(dir, 'pw.txt');
      await writeFile(file, content, { mode: 0o600 });
      await chmod(file, 0o600);
      const warnings: string[] = [];
      const secret = await readSecretFile(file, { warn: (m) => warnings.push(m) });
      assert.equal(secret.reveal(), expected);
      assert.deepEqual(warnings, []);
    }
  });

  test('file: refuses empty, multi-line, not UTF-8, missing; warns when world-readable', async () => {
    const file = path.join(dir, 'bad.txt');
    const refused: [string | Buffer, RegExp][] = [
      ['', /is empty/],
      ['\n', /is empty/],
      ['pass\n\n', /more than one line/],
      ['line1\nline2', /more than one line/],
      [Buffer.from([0x70, 0xff, 0x70]), /not UTF-8/],
    ];
    for (const [content, expected] of refused) {
      await writeFile(file, content);
      await assert.rejects(readSecretFile(file, { what: 'share password', warn: () => {} }), (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, expected);
        assert.ok(error.message.startsWith(`${file}: the share password file`));
        return true;
      });
    }
    await assert.rejects(readSecretFile(path.join(dir, 'nope')), /no such file/);
    await writeFile(file, 'world-readable\n');
    await chmod(file, 0o644);
    const warnings: string[] = [];
    assert.equal((await readSecretFile(file, { warn: (m) => warnings.push(m) })).reveal(), 'world-readable');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /can be read by every user.*chmod 600/);
  });

  test('environment: read and removed; empty refused', () => {
    const env: NodeJS.ProcessEnv = { LIFEBOAT_UNLOCK: 'from-env', OTHER: 'x' };
    assert.equal(readSecretEnv('LIFEBOAT_UNLOCK', { env })?.reveal(), 'from-env');
    assert.equal(env.LIFEBOAT_UNLOCK, undefined, 'consumed so child processes do not inherit it');
    assert.equal(readSecretEnv('LIFEBOAT_UNLOCK', { env }), undefined);
    assert.throws(() => readSecretEnv('LIFEBOAT_UNLOCK', { env: { LIFEBOAT_UNLOCK: '' } }), /set but empty/);
    const kept: NodeJS.ProcessEnv = { LIFEBOAT_UNLOCK: 'x' };
    readSecretEnv('LIFEBOAT_UNLOCK', { env: kept, consume: false });
    assert.equal(kept.LIFEBOAT_UNLOCK, 'x');
  });

  class FakePrompter implements PasswordPrompter {
    readonly messages: string[] = [];
    constructor(private readonly answers: string[]) {}
    async password(q: { message: string; mask: string; validate?: (v: string) => true | string }): Promise<string> {
      this.messages.push(q.message);
      assert.equal(q.mask, '*');
      for (;;) {
        const answer = this.answers.shift();
        assert.ok(answer !== undefined, `no answer for ${q.message}`);
        if (!q.validate || q.validate(answer) === true) return answer;
        this.messages.push(`rejected: ${String(q.validate(answer))}`);
      }
    }
  }

  test('getSecret: file before environment before prompt; never silently nothing', async () => {
    const file = path.join(dir, 'unlock.txt');
    await writeFile(file, 'from-file\n', { mode: 0o600 });
    const env: NodeJS.ProcessEnv = { LIFEBOAT_SHARE_PASSWORD: 'from-env' };
    const base = { what: 'share password', fileOption: '--password-file', envVar: 'LIFEBOAT_SHARE_PASSWORD' };
    assert.equal((await getSecret({ ...base, file, env: { ...env } })).reveal(), 'from-file');
    assert.equal((await getSecret({ ...base, env: { ...env } })).reveal(), 'from-env');
    const prompter = new FakePrompter(['typed']);
    assert.equal((await getSecret({ ...base, env: {}, interactive: true, prompter })).reveal(), 'typed');
    assert.deepEqual(prompter.messages, ['Share password:']);
    await assert.rejects(getSecret({ ...base, env: {}, interactive: false }), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.equal(error.message, 'no share password given');
      assert.match(error.hint ?? '', /--password-file FILE or the LIFEBOAT_SHARE_PASSWORD environment variable/);
      return true;
    });
    const weak = { ...base, validate: (s: Secret) => (s.byteLength >= 14 ? (true as const) : 'too short') };
    await assert.rejects(getSecret({ ...weak, env: { LIFEBOAT_SHARE_PASSWORD: 'short' } }), /LIFEBOAT_SHARE_PASSWORD: too short/);
  });

  test('prompt: validation and confirmation', async () => {
    const prompter = new FakePrompter(['', 'weak', 'a-strong-one-here', 'a-strong-one-HERE', 'a-strong-one-here', 'a-strong-one-here']);
    const originalWrite = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    let secret: Secret;
    try {
      secret = await promptSecret('New passphrase:', {
        confirmMessage: 'Again:',
        validate: (s) => (s.byteLength >= 10 ? true : 'too short'),
        prompter,
      });
    } finally {
      process.stderr.write = originalWrite;
    }
    assert.equal(secret.reveal(), 'a-strong-one-here');
    assert.deepEqual(prompter.messages, [
      'New passphrase:',
      'rejected: please type it (it cannot be empty)',
      'rejected: too short',
      'Again:',
      'New passphrase:',
      'Again:',
    ]);
  });
});

describe('redaction and secret scans', () => {
  const password = new Secret('N4s-P@ss "w" ü€');
  const unlock = new Secret('correct horse battery staple');

  test('redact masks plain, JSON-escaped, URL-encoded and base64 forms', () => {
    const plain = password.reveal();
    const text = [
      `net use \\\\nas01\\veeam ${plain} /user:MUSTER\\svc-restore`,
      JSON.stringify({ password: plain }),
      `url=smb://u:${encodeURIComponent(plain)}@nas`,
      `b64=${Buffer.from(`xx${plain}yy`).toString('base64')}`,
      `enc=${Buffer.from(plain, 'utf16le').toString('base64')}`,
      `unlock=${unlock.reveal()}`,
    ].join('\n');
    const out = redact(text, [password, unlock]);
    assert.deepEqual(findSecretBytes(Buffer.from(out), [password, unlock]), []);
    assert.ok(!out.includes('P@ss'));
    assert.ok(out.includes('net use \\\\nas01\\veeam *** /user:MUSTER\\svc-restore'));
    assert.ok(out.includes('unlock=***'));
    assert.equal(redact('nothing here', [password]), 'nothing here');
    assert.equal(redact('x', [new Secret('')]), 'x');
  });

  test('findSecretBytes finds UTF-8, UTF-16LE and base64 (every alignment, both alphabets)', () => {
    const plain = password.reveal();
    const encodings = new Map<string, Buffer>([
      ['utf8', Buffer.from(plain)],
      ['utf16le', Buffer.from(plain, 'utf16le')],
    ]);
    for (const [name, bytes] of encodings) {
      const haystack = Buffer.concat([Buffer.alloc(1000, 0x41), bytes, Buffer.alloc(1000, 0x42)]);
      const matches = findSecretBytes(haystack, [unlock, password]);
      assert.deepEqual(matches, [{ secretIndex: 1, encoding: name, offset: 1000 }]);
    }
    for (const [source, plainName, urlName] of [
      [Buffer.from(plain), 'base64', 'base64url'],
      [Buffer.from(plain, 'utf16le'), 'base64-utf16le', 'base64url-utf16le'],
    ] as const) {
      for (let prefix = 0; prefix < 3; prefix++) {
        const b64 = Buffer.concat([Buffer.alloc(prefix, 0x7a), source, Buffer.from('tail')]).toString('base64');
        for (const [text, name] of [
          [b64, plainName],
          [b64.replace(/\+/g, '-').replace(/\//g, '_'), urlName],
        ] as const) {
          const matches = findSecretBytes(Buffer.from(`data:${text};`), [password]);
          assert.ok(
            matches.some((m) => m.encoding === name || m.encoding === plainName),
            `${name} with ${prefix} prefix bytes not found`,
          );
        }
      }
    }
    assert.deepEqual(findSecretBytes(Buffer.from('clean bytes'), [password, unlock]), []);
    assert.equal(base64Fragments(Buffer.from('abc'))[0], 'YWJj');
  });

  test('streaming scan finds a secret across every chunk boundary', async () => {
    const needle = Buffer.from(unlock.reveal(), 'utf16le');
    const haystack = Buffer.concat([Buffer.alloc(100, 0x20), needle, Buffer.alloc(50, 0x20)]);
    for (let chunkSize = 1; chunkSize <= needle.length + 3; chunkSize++) {
      async function* chunks() {
        for (let i = 0; i < haystack.length; i += chunkSize) yield haystack.subarray(i, i + chunkSize);
      }
      const matches = await scanStreamForSecrets(chunks(), [unlock]);
      assert.deepEqual(matches, [{ secretIndex: 0, encoding: 'utf16le', offset: 100 }], `chunk size ${chunkSize}`);
    }
    // Shifted start: the boundary falls at every offset inside the secret.
    for (let start = 90; start < 100 + needle.length; start += 7) {
      const shifted = Buffer.concat([Buffer.alloc(start, 0x20), needle, Buffer.alloc(10, 0x20)]);
      async function* two() {
        yield shifted.subarray(0, 100);
        yield shifted.subarray(100);
      }
      assert.deepEqual(await scanStreamForSecrets(two(), [unlock]), [{ secretIndex: 0, encoding: 'utf16le', offset: start }]);
    }
  });

  test('file scan with small chunks; several matches; first only', async () => {
    const file = path.join(dir, 'artifact.bin');
    const plain = Buffer.from(password.reveal());
    const b64 = Buffer.from(Buffer.concat([Buffer.from('k'), plain]).toString('base64'));
    const content = Buffer.concat([Buffer.alloc(4093, 1), plain, Buffer.alloc(5000, 2), b64, Buffer.alloc(3000, 3)]);
    await writeFile(file, content);
    const matches = await scanFileForSecrets(file, [unlock, password], { chunkSize: 4096 });
    assert.deepEqual(
      matches.map((m) => [m.encoding, m.secretIndex]),
      [
        ['utf8', 1],
        ['base64', 1],
      ],
    );
    assert.equal(matches[0]?.offset, 4093);
    assert.ok((matches[1]?.offset ?? 0) >= 4093 + plain.length + 5000);
    assert.equal((await scanFileForSecrets(file, [password], { chunkSize: 1000, firstOnly: true })).length, 1);
  });
});
