// Worker threads load TypeScript through tsx's loader, as the CLI's do.
import { register } from 'tsx/esm/api';

register();
await import('./atomicWriter.ts');
