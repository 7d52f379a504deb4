#!/usr/bin/env node
// The installed `procyon` command: the CLI is compiled to dist/ by `npm install` (prepare) or `npm run build`.
import '../dist/src/cli/main.js';
