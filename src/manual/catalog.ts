/**
 * What the manual takes from a backup share (`--share PATH`): per site server the newest restore point with the
 * system it restores (OS, RAM, disks with used sizes, firmware), read from the .vbm metadata, and the measurements
 * the capacity and restore-time figures are computed from (src/veeam/feasibility.ts `measureShare`, the same ones
 * `lifeboat plan --share` uses). No credentials: the share must already be reachable as a folder (mounted, or a UNC
 * path on Windows).
 */
import { stat } from 'node:fs/promises';
import { InputError } from '../errors.js';
import type { Site } from '../site/index.js';
import { discoverChains } from '../veeam/discover.js';
import { measureShare, type ShareMeasurement } from '../veeam/feasibility.js';
import { groupServers, pointDetails } from '../veeam/model.js';

export interface CatalogDisk {
  readonly number?: number;
  readonly capacityBytes?: number;
  readonly usedBytes?: number;
  readonly partitionStyle: string;
}

export interface CatalogServer {
  /** The site's server name. */
  readonly name: string;
  readonly jobName?: string;
  /** Newest restore point, as shown to people. */
  readonly newestLabel?: string;
  readonly newestTime?: Date;
  readonly newestType?: string;
  /** Bytes of data the newest point restores. */
  readonly dataBytes?: number;
  /** Bytes all backup files of the server take on the share. */
  readonly backupBytes?: number;
  readonly osName?: string;
  readonly ramBytes?: number;
  readonly firmware?: 'uefi' | 'bios';
  readonly disks: readonly CatalogDisk[];
  readonly encrypted: boolean;
  readonly pointCount: number;
}

export interface ShareCatalog {
  /** The folder that was read. */
  readonly root: string;
  readonly readAt: Date;
  readonly servers: readonly CatalogServer[];
  /** Site servers with no backup on the share. */
  readonly missing: readonly string[];
  /** Metadata files that could not be read. */
  readonly problems: readonly string[];
  /** Chain statistics and used volume sizes per site server, for src/veeam/capacity.ts. */
  readonly measurement: ShareMeasurement;
}

/** Reads the share's backup metadata and matches it to the site's servers. */
export async function readShareCatalog(root: string, site: Site, now: Date = new Date()): Promise<ShareCatalog> {
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new InputError(`--share "${root}" is not a readable folder`, 'Mount the backup share (or give its UNC path on Windows) and try again.');
  }
  const discovery = await discoverChains(root);
  const catalog = groupServers(discovery.chains.map((c) => c.chain), site.servers);
  const servers: CatalogServer[] = [];
  for (const s of catalog.servers) {
    if (!s.site) continue;
    const point = s.newest?.point;
    let details;
    try {
      details = point ? pointDetails(point) : undefined;
    } catch {
      details = undefined;
    }
    const backupBytes = s.chains.flatMap((c) => c.storages).reduce((a, st) => a + (st.size ?? 0), 0);
    servers.push({
      name: s.site.server.name,
      jobName: s.newest?.chain.jobName,
      newestLabel: point?.label,
      newestTime: point?.time,
      newestType: point?.type,
      dataBytes: details?.dataBytes ?? point?.approxSize,
      backupBytes: backupBytes > 0 ? backupBytes : undefined,
      osName: details?.osName,
      ramBytes: details?.ramBytes,
      firmware: details?.firmware,
      disks: (details?.disks ?? []).map((d) => ({ number: d.number, capacityBytes: d.capacity, usedBytes: d.usedBytes, partitionStyle: d.partitionStyle })),
      encrypted: details?.encrypted ?? s.chains.some((c) => c.encrypted),
      pointCount: s.chains.reduce((a, c) => a + c.points.length, 0),
    });
  }
  const measurement = await measureShare(root, site);
  return {
    root,
    readAt: now,
    servers,
    missing: catalog.missing.map((m) => m.name),
    problems: discovery.errors.map((e) => `${e.file}: ${e.message}`),
    measurement,
  };
}
