#!/usr/bin/env node
// Launcher: runs the prebuilt clawkit binary from the platform package npm installed next to
// this one (@clawkit/<platform>-<arch>), with the same arguments, stdio and exit code.
"use strict";
const { spawnSync } = require("node:child_process");
const path = require("node:path");

const pkg = `@clawkit/${process.platform}-${process.arch}`;
let bin;
try {
  bin = path.join(path.dirname(require.resolve(`${pkg}/package.json`)), "bin", "clawkit");
} catch {
  console.error(
    `clawkit: no prebuilt binary for ${process.platform}-${process.arch} (package ${pkg} is not installed).\n` +
      "Install from source instead: cargo install --path . (in a clawkit checkout)"
  );
  process.exit(1);
}
const r = spawnSync(bin, process.argv.slice(2), { stdio: "inherit" });
if (r.error) {
  console.error(`clawkit: cannot run ${bin}: ${r.error.message}`);
  process.exit(1);
}
if (r.signal) process.kill(process.pid, r.signal);
process.exit(r.status === null ? 1 : r.status);
