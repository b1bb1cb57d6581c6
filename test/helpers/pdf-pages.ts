/**
 * Reads a PDF page by page with poppler's pdftotext: each page's text and how far down its body text reaches (the
 * footer the browser prints in the bottom margin is left out), for checks of the printed layout.
 */
import assert from 'node:assert/strict';
import { run } from './tools.js';

export interface PdfPage {
  /** 1-based. */
  readonly number: number;
  /** Body text, whitespace collapsed (footer left out). */
  readonly text: string;
  /** Lowest point of the body text as a fraction of the page height (0: no text; about 0.93: full). */
  readonly fill: number;
  /** Words of body text. */
  readonly words: number;
}

const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;|&apos;/g, "'").replace(/&amp;/g, '&');

/** Every page of `pdf`. The bottom margin (18 mm of 297) holds only the footer. */
export async function pdfPages(pdf: string): Promise<PdfPage[]> {
  const r = await run('pdftotext', ['-bbox', '-enc', 'UTF-8', pdf, '-'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const pages: PdfPage[] = [];
  for (const m of r.stdout.matchAll(/<page width="([\d.]+)" height="([\d.]+)">([\s\S]*?)<\/page>/g)) {
    const height = Number(m[2]);
    const footerTop = height * (1 - 18 / 297);
    const words: string[] = [];
    let lowest = 0;
    for (const w of m[3]!.matchAll(/<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)<\/word>/g)) {
      if (Number(w[1]) >= footerTop) continue;
      words.push(decode(w[3]!));
      lowest = Math.max(lowest, Number(w[2]));
    }
    pages.push({ number: pages.length + 1, text: words.join(' '), fill: lowest / height, words: words.length });
  }
  return pages;
}
