/**
 * `npm run dev`: builds the static assets, runs the server, and on any change under src/ or
 * static-src/ rebuilds the assets and restarts the server (Tailwind must rescan views for classes,
 * and the server reads the hashed asset names at start).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { watch } from 'node:fs';

let server: ChildProcess | undefined;
let timer: NodeJS.Timeout | undefined;

function buildStatic(): boolean {
  return spawnSync('npm', ['run', 'build:static', '--silent'], { stdio: 'inherit' }).status === 0;
}

function restart() {
  const start = () => {
    if (!buildStatic()) return;
    server = spawn('node', ['--import', 'tsx', 'src/server.ts'], {
      stdio: 'inherit',
      env: { LOG_FORMAT: 'pretty', ...process.env },
    });
  };
  if (server && server.exitCode === null) {
    server.once('exit', start);
    server.kill('SIGTERM');
  } else {
    start();
  }
}

for (const dir of ['src', 'static-src']) {
  watch(dir, { recursive: true }, () => {
    clearTimeout(timer);
    timer = setTimeout(restart, 150);
  });
}
process.on('SIGINT', () => {
  server?.kill('SIGTERM');
  process.exit(0);
});
restart();
