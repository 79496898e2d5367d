// Real gRPC (HTTP/2) echo backends on 127.0.0.1 that name themselves in every
// reply, and a client for them.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const protoFile = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/echo.proto');

export interface EchoReply {
  backend: string;
  path: string;
  authority: string;
}

type UnaryFn = (req: { text: string }, cb: (err: grpc.ServiceError | null, reply?: EchoReply) => void) => void;
export type EchoClient = grpc.Client & { Hello: UnaryFn; Special: UnaryFn };
type EchoCtor = (new (target: string, creds: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => EchoClient) & {
  service: grpc.ServiceDefinition;
};

let echoCtor: EchoCtor | null = null;

export function echoService(): EchoCtor {
  if (echoCtor) return echoCtor;
  const def = protoLoader.loadSync(protoFile, { keepCase: true });
  echoCtor = (grpc.loadPackageDefinition(def) as unknown as { test: { Echo: EchoCtor } }).test.Echo;
  return echoCtor;
}

export interface EchoBackend {
  name: string;
  port: number;
  close(): Promise<void>;
}

/** Start a backend named `name` on 127.0.0.1 (a free port). */
export async function startEchoBackend(name: string): Promise<EchoBackend> {
  const server = new grpc.Server();
  const answer = (call: grpc.ServerUnaryCall<{ text: string }, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) =>
    cb(null, { backend: name, path: call.getPath(), authority: String(call.metadata.get(':authority')[0] ?? '') });
  server.addService(echoService().service, { Hello: answer, Special: answer });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    name,
    port,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** One call; resolves with the reply (or rejects with the gRPC error). */
export function call(client: EchoClient, method: 'Hello' | 'Special', timeoutMs = 15_000): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + timeoutMs);
    (client[method] as unknown as (req: { text: string }, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: EchoReply) => void) => void).call(
      client,
      { text: 'hi' },
      new grpc.Metadata(),
      { deadline },
      (err, reply) => (err ? reject(err) : resolve(reply!)),
    );
  });
}
