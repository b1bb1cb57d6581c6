/** A one-line progress meter (bytes, rate, ETA) on stderr when it is a terminal; silent otherwise. */
import { formatBytes } from './output.js';

export function progressMeter(label: string, enabled = process.stderr.isTTY === true): {
  update: (done: number, total: number) => void;
  end: () => void;
} {
  const start = Date.now();
  let last = 0;
  let shown = false;
  return {
    update(done, total) {
      if (!enabled) return;
      const now = Date.now();
      if (now - last < 200 && done < total) return;
      last = now;
      const seconds = Math.max((now - start) / 1000, 0.001);
      const rate = done / seconds;
      const eta = rate > 0 ? Math.max(0, (total - done) / rate) : 0;
      const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
      process.stderr.write(`\r${label} ${pct}% ${formatBytes(done)} / ${formatBytes(total)}, ${formatBytes(rate)}/s, ETA ${Math.ceil(eta)} s   `);
      shown = true;
    },
    end() {
      if (shown) process.stderr.write('\n');
    },
  };
}
