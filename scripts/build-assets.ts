/**
 * Copies the browser assets into dist/public/static under content-hashed names and writes
 * manifest.json (logical name → URL). Run by `npm run build` after the Tailwind build.
 * Hashed names let the server send year-long immutable caching; a new build changes the names.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { AssetManifest, AssetName } from '../src/lib/assets.ts';

const OUT_DIR = 'dist/public/static';
const sources: Record<AssetName, string> = {
  'app.css': 'dist/tmp/app.css',
  'htmx.js': 'node_modules/htmx.org/dist/htmx.min.js',
  // htmx 4's own SSE extension (live status on resource pages); it registers itself on load.
  'htmx-sse.js': 'node_modules/htmx.org/dist/ext/hx-sse.min.js',
  // Our Alpine.data components (charts, …): must load before Alpine starts.
  'app.js': 'static-src/app.js',
  'alpine.js': 'node_modules/@alpinejs/csp/dist/cdn.min.js',
  // Our Alpine components (registered on alpine:init, so it loads before alpine.js).
  'log-tail.js': 'static-src/log-tail.js',
  'favicon.svg': 'static-src/favicon.svg',
};

await rm(OUT_DIR, { recursive: true, force: true });
await mkdir(OUT_DIR, { recursive: true });
const manifest = {} as AssetManifest;
for (const [name, source] of Object.entries(sources) as Array<[AssetName, string]>) {
  const content = await readFile(source);
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 12);
  const ext = extname(name);
  const file = `${basename(name, ext)}.${hash}${ext}`;
  await writeFile(`${OUT_DIR}/${file}`, content);
  manifest[name] = `/static/${file}`;
}
await writeFile(`${OUT_DIR}/manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
// Cloudflare's asset server reads _headers for caching rules; Node sets the same in server.ts.
await writeFile(
  'dist/public/_headers',
  '/static/*\n  Cache-Control: public, max-age=31536000, immutable\n/static/manifest.json\n  Cache-Control: no-cache\n',
);
console.log(`assets: ${Object.values(manifest).join(', ')}`);
