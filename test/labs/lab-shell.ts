import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';

/** Runs `script` with sh in a lab container, as a user of the lab would; stdout and stderr together. */
export async function labShell(docker: Docker, containerId: string, script: string): Promise<{ code: number | null; output: string }> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: ['sh', '-c', script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  docker.modem.demuxStream(stream, sink, sink);
  await once(stream, 'end');
  return { code: (await exec.inspect()).ExitCode, output: Buffer.concat(chunks).toString() };
}
