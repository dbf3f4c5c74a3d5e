/**
 * Logical asset names → their content-hashed URLs, written by `npm run build` into
 * dist/public/static/manifest.json. Hashed URLs let /static send year-long immutable caching.
 */
export const ASSET_NAMES = [
  'app.css',
  'htmx.js',
  'htmx-sse.js',
  'app.js',
  'alpine.js',
  'log-tail.js',
  'favicon.svg',
] as const;
export type AssetName = (typeof ASSET_NAMES)[number];
export type AssetManifest = Record<AssetName, string>;

export const MANIFEST_PATH = '/static/manifest.json';

export function parseAssetManifest(json: unknown): AssetManifest {
  const record = (json ?? {}) as Record<string, unknown>;
  const manifest = {} as AssetManifest;
  for (const name of ASSET_NAMES) {
    const url = record[name];
    if (typeof url !== 'string' || !url.startsWith('/static/')) {
      throw new Error(`Asset manifest has no entry for ${name}; run \`npm run build\``);
    }
    manifest[name] = url;
  }
  return manifest;
}
