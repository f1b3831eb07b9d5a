/**
 * A real one-node Slurm cluster for tests, everything under one temporary
 * folder: munged with its own key and socket, slurmctld and slurmd on free
 * ports, state, spool, logs and pid files beside them. Clients (sbatch,
 * squeue, ...) reach it through SLURM_CONF in `env`. Needs root (slurmd
 * starts jobs as their user) and Debian's slurm-wlm and munge.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { onPath } from '../../src/cluster/submit.ts';

const DAEMONS = ['munged', 'slurmctld', 'slurmd'];
const CLIENTS = ['sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo'];
const INSTALL = 'apt-get install -y slurm-wlm munge, as root';

/** Why a real cluster cannot start here (and how to get one), or undefined when it can. */
export function slurmUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `a one-node Slurm cluster needs Linux (${INSTALL})`;
  if (process.getuid?.() !== 0) return `starting slurmd needs root (run the tests as root, with ${INSTALL})`;
  const env = { PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };
  const missing = [...DAEMONS, ...CLIENTS].filter((name) => !onPath(name, env));
  if (missing.length > 0) return `Slurm is not installed (${missing.join(', ')} not found; ${INSTALL})`;
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export interface JobState {
  /** "12" or, for an array task, "12_3". */
  id: string;
  state: string;
  reason: string;
}

export class SlurmCluster {
  private constructor(
    readonly dir: string,
    /** The environment for clients and for hw1-onnx slurm: SLURM_CONF, and PATH with sbin. */
    readonly env: NodeJS.ProcessEnv,
  ) {}

  static async start(): Promise<SlurmCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'hw1-slurm-'));
    const env = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, SLURM_CONF: join(dir, 'slurm.conf') };
    const cluster = new SlurmCluster(dir, env);
    try {
      for (const sub of ['state', 'spool', 'munge']) mkdirSync(join(dir, sub), { mode: 0o700 });
      writeFileSync(join(dir, 'munge', 'munge.key'), randomBytes(1024), { mode: 0o600 });
      const [controllerPort, nodePort] = [await freePort(), await freePort()];
      writeFileSync(
        env.SLURM_CONF,
        [
          `ClusterName=hw1test${process.pid}`,
          'SlurmctldHost=localhost',
          `SlurmctldPort=${controllerPort}`,
          `SlurmdPort=${nodePort}`,
          'SlurmUser=root',
          'SlurmdUser=root',
          'AuthType=auth/munge',
          'CredType=cred/munge',
          `AuthInfo=socket=${cluster.mungeSocket}`,
          `StateSaveLocation=${join(dir, 'state')}`,
          `SlurmdSpoolDir=${join(dir, 'spool')}`,
          `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
          `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
          `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`,
          `SlurmdLogFile=${join(dir, 'slurmd.log')}`,
          'ProctrackType=proctrack/linuxproc',
          'TaskPlugin=task/none',
          'SelectType=select/cons_tres',
          'SelectTypeParameters=CR_CPU',
          'SchedulerType=sched/backfill',
          'JobAcctGatherType=jobacct_gather/none',
          'AccountingStorageType=accounting_storage/none',
          'MpiDefault=none',
          'ReturnToService=2',
          // The node is declared with 2 CPUs whatever this machine has: config_overrides keeps it usable on 1 core too.
          'SlurmdParameters=config_overrides',
          'NodeName=localhost CPUs=2 RealMemory=4000 State=UNKNOWN',
          'PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP',
          '',
        ].join('\n'),
      );
      const m = join(dir, 'munge');
      cluster.daemon('munged', ['--force', `--key-file=${join(m, 'munge.key')}`, `--socket=${cluster.mungeSocket}`, `--pid-file=${join(m, 'munged.pid')}`, `--log-file=${join(m, 'munged.log')}`, `--seed-file=${join(m, 'munged.seed')}`]);
      cluster.daemon('slurmctld', ['-i', '-f', env.SLURM_CONF]);
      cluster.daemon('slurmd', ['-N', 'localhost', '-f', env.SLURM_CONF]);
      await cluster.until(() => /^idle/.test(cluster.client('sinfo', ['--noheader', '--format=%T']).trim()), 30_000, 'the node to come up idle (see slurmd.log)');
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  get mungeSocket(): string {
    return join(this.dir, 'munge', 'munge.socket');
  }

  /** Starts a daemon that forks into the background; a failure names its log. */
  private daemon(name: string, args: string[]): void {
    const result = spawnSync(name, args, { env: this.env, encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`${name} did not start (exit ${result.status}): ${result.stderr.trim()} ${this.logTail(name === 'munged' ? join('munge', 'munged.log') : `${name}.log`)}`);
    }
  }

  private logTail(name: string): string {
    const path = join(this.dir, name);
    return existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').slice(-5).join(' | ') : '';
  }

  /** Runs a Slurm client against this cluster; its stdout, or an error with its stderr. */
  client(name: string, args: string[]): string {
    const result = spawnSync(name, args, { env: this.env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${name} ${args.join(' ')}: exit ${result.status}: ${result.stderr.trim()}`);
    return result.stdout;
  }

  private async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if (done()) return;
      } catch {
        // Not ready yet (the controller may not answer in its first moments).
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Job ids still queued or running. */
  queued(): string[] {
    return this.client('squeue', ['--noheader', '--array', '--format=%i']).split('\n').map((line) => line.trim()).filter(Boolean);
  }

  /** Waits until none of the jobs is queued or running any more. */
  async waitUntilDone(timeoutMs: number): Promise<void> {
    await this.until(() => this.queued().length === 0, timeoutMs, `the jobs to end (still queued: ${this.queued().join(', ')})`);
  }

  /**
   * The states of a job or of every task of an array (scontrol keeps ended
   * jobs for MinJobAge, 5 minutes; this cluster has no accounting for sacct).
   */
  states(jobId: string): JobState[] {
    return this.client('scontrol', ['--oneliner', 'show', 'job', jobId])
      .split('\n')
      .filter((line) => line.includes('JobId='))
      .map((line) => {
        const field = (name: string) => new RegExp(`(?:^| )${name}=(\\S*)`).exec(line)?.[1] ?? '';
        const task = field('ArrayTaskId');
        return { id: task && /^\d+$/.test(task) ? `${field('ArrayJobId')}_${task}` : field('JobId'), state: field('JobState'), reason: field('Reason') };
      });
  }

  /** Cancels what is left, shuts the daemons down (waiting for them to exit) and removes the folder. */
  async stop(): Promise<void> {
    const pidOf = (file: string) => (existsSync(join(this.dir, file)) ? Number(readFileSync(join(this.dir, file), 'utf8').trim()) || undefined : undefined);
    const slurmPids = [pidOf('slurmctld.pid'), pidOf('slurmd.pid')].filter((pid): pid is number => pid !== undefined);
    const mungePid = pidOf(join('munge', 'munged.pid'));
    const pids = [...slurmPids, ...(mungePid ? [mungePid] : [])];
    try {
      if (this.queued().length > 0) {
        spawnSync('scancel', ['--full', '--user', 'root'], { env: this.env });
        await this.waitUntilDone(20_000);
      }
    } catch {
      // The controller may be gone already; the daemons are stopped below either way.
    }
    spawnSync('scontrol', ['shutdown'], { env: this.env });
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 10_000;
    // munged is not stopped by scontrol: SIGTERM it with the others that are left.
    if (mungePid && alive(mungePid)) process.kill(mungePid, 'SIGTERM');
    while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
