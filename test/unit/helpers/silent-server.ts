import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP endpoint that accepts every connection and never answers: what a black-holed AWS endpoint looks like
 * once the connection is open. `close` drops the connections it holds.
 */
export interface SilentServer {
  readonly endpoint: string;
  /** Connections accepted so far: one per attempt of a client whose sockets are not reused. */
  connections(): number;
  /** Connections still open: a client that abandons a request closes its connection. */
  openConnections(): number;
  close(): Promise<void>;
}

export async function silentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Reads the request, so the client's write completes, and never writes a byte back.
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => accepted,
    openConnections: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
