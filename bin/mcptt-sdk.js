#!/usr/bin/env node
// Thin launcher for the compiled CLI (npm run build emits dist/).
import '../dist/src/cli/main.js';
