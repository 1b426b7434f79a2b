import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP endpoint that accepts every connection and never answers: what a black-holed AWS endpoint looks like
 * once the connection is open. `close` drops the connections it holds.
 */
export interface SilentServer {
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function silentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Reads the request, so the client's write completes, and never writes a byte back.
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
