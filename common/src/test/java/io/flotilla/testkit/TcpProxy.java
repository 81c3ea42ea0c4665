package io.flotilla.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A loopback TCP relay in front of a server, so a test can take the server off the network and
 * bring it back (same port) while the server itself keeps its state: an outage as a client sees it.
 */
public final class TcpProxy implements AutoCloseable {
  private final int port;
  private final int targetPort;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private volatile ServerSocket server;

  public TcpProxy(int port, int targetPort) {
    this.port = port;
    this.targetPort = targetPort;
  }

  public int port() {
    return port;
  }

  /** Starts accepting connections on the port. */
  public synchronized void start() throws IOException {
    if (server != null) {
      return;
    }
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true);
    s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    server = s;
    Thread acceptor = new Thread(() -> acceptLoop(s), "tcp-proxy-" + port);
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Refuses new connections and cuts the open ones. */
  public synchronized void stop() {
    ServerSocket s = server;
    server = null;
    if (s != null) {
      try {
        s.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
    for (Socket socket : open) {
      try {
        socket.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
    open.clear();
  }

  private void acceptLoop(ServerSocket s) {
    while (!s.isClosed()) {
      try {
        Socket client = s.accept();
        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        open.add(client);
        open.add(upstream);
        relay(client, upstream);
        relay(upstream, client);
      } catch (IOException e) {
        // server socket closed, or the target refused: the client sees a closed connection
      }
    }
  }

  private void relay(Socket from, Socket to) {
    Thread t = new Thread(() -> {
      byte[] buf = new byte[64 * 1024];
      try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          out.write(buf, 0, n);
        }
      } catch (IOException e) {
        // one side closed
      } finally {
        try {
          to.shutdownOutput();
        } catch (IOException e) {
          // already closed
        }
        open.remove(from);
      }
    }, "tcp-proxy-relay");
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() {
    stop();
  }
}
