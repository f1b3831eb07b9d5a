// Worker threads load TypeScript through tsx's loader, as the CLI does.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
