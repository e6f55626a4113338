// `npm run build`: src/ → dist/ (git-ignored, never hand-edited). esbuild bundles the ES modules
// with the pinned laravel-echo and pusher-js into one file; index.html and the stylesheet are
// copied beside it. pusherd serves dist/ at / (pusherd/site.py).
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'main.js')],
  outfile: join(dist, 'app.js'),
  bundle: true,
  format: 'esm',
  target: ['es2020'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
await copyFile(join(root, 'index.html'), join(dist, 'index.html'));
await copyFile(join(root, 'src', 'style.css'), join(dist, 'style.css'));
console.log(`built ${dist}`);
