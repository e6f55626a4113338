// `npm run build`: src/ → dist/ (git-ignored, never hand-edited). esbuild bundles the ES modules
// with the pinned laravel-echo and pusher-js into one file; index.html and the stylesheet are
// copied beside it. pusherd serves dist/ at / (pusherd/site.py), and dist/api-docs/ at
// /api/v1/docs (dataapi/docs.py).
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
// The data API's reference page (/api/v1/docs): the pinned swagger-ui-dist bundle, copied as
// published (already built; no CDN), beside its page and start-up script.
const docs = join(dist, 'api-docs');
const swagger = join(root, 'node_modules', 'swagger-ui-dist');
await mkdir(docs, { recursive: true });
for (const file of ['swagger-ui-bundle.js', 'swagger-ui.css', 'LICENSE', 'NOTICE']) {
  await copyFile(join(swagger, file), join(docs, file));
}
for (const file of ['index.html', 'init.js']) {
  await copyFile(join(root, 'api-docs', file), join(docs, file));
}
await copyFile(join(root, 'src', 'style.css'), join(dist, 'style.css'));
console.log(`built ${dist}`);
