import cliProgress from 'cli-progress';

/** Progress of long work: a bar on a terminal, plain lines when output is piped or logged. */
export interface Progress {
  start(label: string, total: number): void;
  update(done: number, detail: string): void;
  stop(): void;
  log(line: string): void;
}

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return plainProgress();
  let bar: cliProgress.SingleBar | null = null;
  return {
    start(label, total) {
      bar = new cliProgress.SingleBar(
        { stream, format: `${label} [{bar}] {value}/{total} steps | {detail} | ETA {eta_formatted}`, hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { detail: '' });
    },
    update(done, detail) {
      bar?.update(done, { detail });
    },
    stop() {
      bar?.stop();
      bar = null;
    },
    log(line) {
      console.log(line);
    },
  };
}

export function plainProgress(): Progress {
  return { start() {}, update() {}, stop() {}, log: (line) => console.log(line) };
}

export function silentProgress(): Progress {
  return { start() {}, update() {}, stop() {}, log() {} };
}
