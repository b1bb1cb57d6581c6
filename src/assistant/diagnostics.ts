/**
 * Diagnostics from a failed Windows before a restore overwrites it: what to collect (diagnostics/plan.ts, a table of
 * sources) and the archive it goes into (diagnostics/archive.ts), over one volume reader (diagnostics/volume-fs.ts).
 */
export * from './diagnostics/plan.js';
export * from './diagnostics/archive.js';
