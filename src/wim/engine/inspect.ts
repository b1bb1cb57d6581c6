/** What `lifeboat wim inspect` shows: the header, each image (XML and its own tree), and optionally a file list. */
import { WimArchive } from './archive.js';
import { type Dentry, attributes, dataHash, hardLinkGroup, isDirectory, isReparsePoint } from './metadata.js';
import { RESHDR_FLAG_COMPRESSED } from './resource.js';
import { type ImageInfo, imageInfo } from './xml.js';

export interface WimFileInfo {
  path: string;
  kind: 'dir' | 'file' | 'link';
  bytes: number;
  attributes: number;
  /** Extra (named) streams. */
  streams?: string[];
  hardLinkGroup?: string;
}

export interface WimInspection {
  path: string;
  fileSize: number;
  version: string;
  compression: string;
  chunkSize: number;
  guid: string;
  bootIndex: number;
  integrityTable: boolean;
  blobs: { count: number; compressed: number };
  images: (ImageInfo & { files?: WimFileInfo[] })[];
}

export async function inspectWim(path: string, opts: { filesOf?: number } = {}): Promise<WimInspection> {
  const a = await WimArchive.open(path);
  try {
    const h = a.header;
    const data = a.blobs.filter((b) => !(b.reshdr.flags & 0x2));
    const out: WimInspection = {
      path,
      fileSize: a.fileSize,
      version: `0x${h.version.toString(16)}`,
      compression: a.compression,
      chunkSize: h.chunkSize,
      guid: h.guid.toString('hex'),
      bootIndex: h.bootIndex,
      integrityTable: h.integrity.offset !== 0 && h.integrity.sizeInWim !== 0,
      blobs: { count: data.length, compressed: data.filter((b) => b.reshdr.flags & RESHDR_FLAG_COMPRESSED).length },
      images: [],
    };
    for (let i = 1; i <= h.imageCount; i++) {
      const info: ImageInfo & { files?: WimFileInfo[] } = imageInfo(a.xml, i);
      if (opts.filesOf === i) {
        const img = await a.image(i);
        const sizeOf = (d: Dentry): number => {
          const hash = dataHash(d);
          return hash ? a.blob(hash)?.reshdr.originalSize ?? 0 : 0;
        };
        info.files = [];
        const visit = (d: Dentry, prefix: string): void => {
          for (const c of d.children ?? []) {
            const p = `${prefix}/${c.name}`;
            const named = c.streams.filter((s) => s.name !== '').map((s) => s.name);
            const g = hardLinkGroup(c);
            info.files!.push({
              path: p,
              kind: isReparsePoint(c) ? 'link' : isDirectory(c) ? 'dir' : 'file',
              bytes: isDirectory(c) ? 0 : sizeOf(c),
              attributes: attributes(c),
              ...(named.length ? { streams: named } : {}),
              ...(g !== '' ? { hardLinkGroup: g } : {}),
            });
            if (isDirectory(c)) visit(c, p);
          }
        };
        visit(img.root, '');
      }
      out.images.push(info);
    }
    return out;
  } finally {
    await a.close();
  }
}
