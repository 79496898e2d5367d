// Generates the benchmark's large nginx configuration, deterministically (a
// seeded PRNG, no clock, no environment): by default 2,000 servers × 10
// locations, 2,000 upstreams and a 2,000-entry map, about 7 MB. The result is a
// config real `nginx -t` accepts when run with `-p <dir>` (pid and error_log are
// relative to that prefix).
//
//   node bench/generate.mjs [out-file] [--servers N] [--upstreams N] [--map N]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULTS = Object.freeze({
  servers: 2000,
  locationsPerServer: 10,
  upstreams: 2000,
  mapEntries: 2000,
  seed: 0x5eed,
});

// mulberry32: small, fast, and the same sequence on every machine.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n, w = 4) => String(n).padStart(w, '0');
const upstreamName = (i) => `backend_${pad(i)}`;
const WORDS = ['api', 'shop', 'media', 'auth', 'docs', 'blog', 'admin', 'cdn', 'app', 'mail', 'pay', 'search'];

function makeRandom(seed) {
  const next = prng(seed);
  return {
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
}

function upstreamBlock(i, rnd) {
  const lines = [`    upstream ${upstreamName(i)} {`];
  // The balancing method comes before the servers (nginx warns otherwise).
  if (rnd.chance(0.2)) lines.push('        least_conn;');
  const servers = 2 + rnd.int(4);
  for (let s = 0; s < servers; s++) {
    const host = `10.${(i >> 8) & 255}.${i & 255}.${10 + s}`;
    const params = [`weight=${1 + rnd.int(10)}`, `max_fails=${1 + rnd.int(5)}`, `fail_timeout=${5 + rnd.int(30)}s`];
    if (s === servers - 1 && rnd.chance(0.4)) params.push('backup');
    lines.push(`        server ${host}:${8000 + rnd.int(1000)} ${params.join(' ')};`);
  }
  if (rnd.chance(0.5)) lines.push(`        keepalive ${8 * (1 + rnd.int(8))};`);
  lines.push('    }');
  return lines.join('\n');
}

function mapBlock(entries, upstreams, rnd) {
  const lines = ['    map $http_x_tenant $tenant_upstream {', `        default ${upstreamName(0)};`, '        hostnames;'];
  for (let e = 0; e < entries; e++) {
    const target = upstreamName(rnd.int(upstreams));
    // Exact keys, plus a regex key now and then (nginx compiles these at -t time).
    if (e % 50 === 49) lines.push(`        ~^tenant-${pad(e)}-[a-z]+$ ${target};`);
    else lines.push(`        tenant-${pad(e)}.${rnd.pick(WORDS)}.example ${target};`);
  }
  lines.push('    }');
  return lines.join('\n');
}

function proxyHeaders(indent) {
  return [
    `${indent}proxy_set_header Host $host;`,
    `${indent}proxy_set_header X-Real-IP $remote_addr;`,
    `${indent}proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`,
    `${indent}proxy_set_header X-Forwarded-Proto $scheme;`,
    `${indent}proxy_set_header X-Request-ID $request_id;`,
  ];
}

// The ten locations of one server: prefix, exact, ^~, regex (case-sensitive
// and not), nested, named; with proxy_pass, return, rewrite and headers.
function locations(i, up, rnd) {
  const I = '        ';
  const J = '            ';
  const K = '                ';
  const word = rnd.pick(WORDS);
  return [
    `${I}location / {`,
    `${J}proxy_pass http://${up()};`,
    ...proxyHeaders(J),
    `${J}proxy_http_version 1.1;`,
    `${J}proxy_set_header Connection "";`,
    `${J}proxy_connect_timeout ${1 + rnd.int(10)}s;`,
    `${J}proxy_read_timeout ${30 + rnd.int(90)}s;`,
    `${J}proxy_next_upstream error timeout http_502 http_503;`,
    `${I}}`,
    `${I}location = /healthz {`,
    `${J}access_log off;`,
    `${J}return 200 "ok ${pad(i)}\\n";`,
    `${I}}`,
    `${I}location ^~ /static/ {`,
    `${J}root /srv/www/site-${pad(i)};`,
    `${J}expires ${1 + rnd.int(48)}h;`,
    `${J}try_files $uri $uri/ =404;`,
    `${J}gzip on;`,
    `${J}gzip_types text/css application/javascript image/svg+xml;`,
    `${J}add_header Cache-Control "public, max-age=${3600 * (1 + rnd.int(24))}" always;`,
    `${I}}`,
    `${I}location ~ ^/api/v(?<version>[0-9]+)/${word}/([0-9]+)$ {`,
    `${J}proxy_pass http://${up()};`,
    ...proxyHeaders(J),
    `${J}add_header X-API-Version $version;`,
    `${I}}`,
    `${I}location ~* \\.(?:jpe?g|png|gif|webp|svg)$ {`,
    `${J}expires 7d;`,
    `${J}add_header X-Served-By "site-${pad(i)}";`,
    `${J}proxy_pass http://${up()};`,
    `${I}}`,
    `${I}location /app/ {`,
    `${J}proxy_pass http://${up()}/v${1 + rnd.int(3)}/;`,
    ...proxyHeaders(J),
    `${J}proxy_buffering off;`,
    `${J}add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;`,
    `${J}location /app/admin/ {`,
    `${K}allow 10.0.0.0/8;`,
    `${K}deny all;`,
    `${K}proxy_pass http://${up()};`,
    `${J}}`,
    `${J}location ~ \\.php$ {`,
    `${K}return 404;`,
    `${J}}`,
    `${I}}`,
    `${I}location /old-${word}/ {`,
    `${J}rewrite ^/old-${word}/(.*)$ /${word}/$1 permanent;`,
    `${I}}`,
    `${I}location /tenant-${word}/ {`,
    `${J}proxy_pass http://$tenant_upstream;`,
    `${J}proxy_set_header Host ${word}.internal;`,
    `${J}proxy_set_header X-Tenant $http_x_tenant;`,
    `${J}error_page 502 503 504 = @fallback;`,
    `${I}}`,
    `${I}location @fallback {`,
    `${J}proxy_pass http://${up()};`,
    `${J}add_header X-Fallback 1;`,
    `${I}}`,
    `${I}location = /redirect-${word} {`,
    `${J}return 301 https://$host/${word}/;`,
    `${I}}`,
  ];
}

function serverBlock(i, opts, rnd) {
  const up = () => upstreamName(rnd.int(opts.upstreams));
  const port = 8000 + (i % 10);
  const lines = [
    '    server {',
    `        listen 127.0.0.1:${port}${i < 10 ? ' default_server' : ''};`,
    `        server_name site-${pad(i)}.example.com www.site-${pad(i)}.example.com *.site-${pad(i)}.example.net;`,
    `        client_max_body_size ${1 + rnd.int(100)}m;`,
    `        add_header X-Site site-${pad(i)};`,
    `        error_page 404 /errors/404.html;`,
    `        proxy_intercept_errors on;`,
  ];
  if (rnd.chance(0.3)) {
    lines.push('        if ($http_x_block) {', '            return 403;', '        }');
  }
  const locs = locations(i, up, rnd);
  lines.push(...locs.slice(0, locationLines(locs, opts.locationsPerServer)), '    }');
  return lines.join('\n');
}

// Keeps the first `n` top-level locations (the generator writes ten).
function locationLines(lines, n) {
  let count = 0;
  for (let k = 0; k < lines.length; k++) {
    if (/^ {8}location /.test(lines[k]) && ++count > n) return k;
  }
  return lines.length;
}

export function generateConfig(options = {}) {
  const opts = { ...DEFAULTS, ...options };
  const rnd = makeRandom(opts.seed);
  const parts = [
    '# Generated by bench/generate.mjs: a large, valid nginx configuration for benchmarks.',
    'pid nginx.pid;',
    'error_log error.log warn;',
    'worker_processes 1;',
    'events {',
    '    worker_connections 1024;',
    '}',
    'http {',
    '    access_log off;',
    '    server_names_hash_max_size 32768;',
    '    server_names_hash_bucket_size 128;',
    '    map_hash_max_size 8192;',
    '    map_hash_bucket_size 128;',
    '    proxy_headers_hash_max_size 1024;',
    '    sendfile on;',
    '    keepalive_timeout 65;',
  ];
  for (let u = 0; u < opts.upstreams; u++) parts.push(upstreamBlock(u, rnd));
  parts.push(mapBlock(opts.mapEntries, opts.upstreams, rnd));
  for (let s = 0; s < opts.servers; s++) parts.push(serverBlock(s, opts, rnd));
  parts.push('}', '');
  return parts.join('\n');
}

function parseArgs(argv) {
  const out = { file: undefined, options: {} };
  const keys = { '--servers': 'servers', '--upstreams': 'upstreams', '--map': 'mapEntries', '--seed': 'seed' };
  for (let k = 0; k < argv.length; k++) {
    if (keys[argv[k]]) out.options[keys[argv[k]]] = Number(argv[++k]);
    else out.file = argv[k];
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { file, options } = parseArgs(process.argv.slice(2));
  const text = generateConfig(options);
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    console.log(`wrote ${file} (${(Buffer.byteLength(text) / 1e6).toFixed(2)} MB)`);
  } else {
    process.stdout.write(text);
  }
}
