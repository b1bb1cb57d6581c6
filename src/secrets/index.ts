export * from './secret.js';
export * from './vault.js';
export * from './recovery-code.js';
export * from './passphrase.js';
export * from './sources.js';
export * from './redact.js';
