#!/usr/bin/env node
// The CLI is TypeScript run through tsx's loader: no build step between a
// change and a run, which matters for a tool users are meant to read and edit.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
