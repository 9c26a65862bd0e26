package io.svcproxy.proxy.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The two ways the relay lost bytes (issue 11), each as a fixed sequence on real loopback sockets, plus the
 * 64 MiB both-ways transfer with half-close repeated. Runs once per transport (see the subclasses).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
abstract class RelayIntegrityTest {
    static final String VIP = "127.0.10.12";
    static final int PORT = 18081;
    static final String ENDPOINT_IP = "127.0.0.12";

    ProxyFixture fixture;
    ServerSocket endpoints;
    /** An endpoint whose accept queue the test fills, so that svcproxy's connect to it waits for a SYN retry. */
    ServerSocket late;
    ExecutorService pool;

    abstract Transport transport();

    @BeforeEach
    void setUp() throws Exception {
        fixture = new ProxyFixture(transport());
        endpoints = new ServerSocket();
        // a small receive window at the endpoint: what it does not read waits in svcproxy, not in its kernel
        endpoints.setReceiveBufferSize(16 << 10);
        endpoints.bind(new java.net.InetSocketAddress(ENDPOINT_IP, 0), 50);
        late = new ServerSocket(0, 1, InetAddress.getByName(ENDPOINT_IP));
        fixture.proxy("proxy: {admin: off, connectTimeout: 10s}\nservices:\n  - name: relay\n    clusterIP: " + VIP
                + "\n    ports: [{port: " + PORT + "}]\n    endpoints: [{ip: " + ENDPOINT_IP + ", port: "
                + endpoints.getLocalPort() + "}]\n  - name: late\n    clusterIP: " + VIP + "\n    ports: [{port: "
                + (PORT + 1) + "}]\n    endpoints: [{ip: " + ENDPOINT_IP + ", port: " + late.getLocalPort() + "}]\n");
        pool = Executors.newCachedThreadPool();
    }

    @AfterEach
    void tearDown() throws IOException {
        pool.shutdownNow();
        endpoints.close();
        late.close();
        fixture.close();
    }

    /**
     * The second FIN must not cut bytes still queued toward the first FIN's side: the client uploads a few MiB
     * and half-closes while the endpoint reads nothing (the kernel buffers take the upload and the client's FIN,
     * svcproxy holds the rest); the endpoint answers and sends its FIN, which reaches the client; only then does
     * the endpoint read the upload. It must get all of it, then the client's FIN.
     */
    @Test
    void anUploadHeldBackByTheEndpointSurvivesTheEndpointsEarlyAnswerAndFin() throws Exception {
        for (int mib : new int[] {1, 2, 4}) {
            int size = mib << 20;
            try (Socket client = Net.connect(VIP, PORT); Socket endpoint = endpoints.accept()) {
                endpoint.setSoTimeout(30_000);
                client.setSoTimeout(30_000);
                Future<byte[]> upload = pool.submit(() -> send(client, size, mib));
                // the endpoint reads nothing; the client's bytes and FIN fit in the buffers on the way
                byte[] sent = upload.get(30, TimeUnit.SECONDS);
                Thread.sleep(500); // for the FIN to reach svcproxy
                Net.write(endpoint, "short answer");
                endpoint.shutdownOutput();
                assertThat(Net.readAllText(client)).isEqualTo("short answer"); // the answer and the endpoint's FIN
                assertThat(receive(endpoint, size)).as("the %d MiB upload as the endpoint received it", mib)
                        .isEqualTo(sent);
            }
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.server().listeners().connectionCount() == 0);
    }

    /**
     * A FIN from the client while its direction is paused (the endpoint reads slowly) must not make the relay
     * resume reading the client's shut-down input when the endpoint drains; and the endpoint must receive every
     * byte before the FIN, while its own answer streams back at the same time.
     */
    @Test
    void aClientFinDuringBackpressureEndsItsDirectionAfterEveryByte() throws Exception {
        for (int r = 0; r < 5; r++) {
            int round = r;
            int size = 8 << 20;
            try (Socket client = Net.connect(VIP, PORT); Socket endpoint = endpoints.accept()) {
                endpoint.setSoTimeout(30_000);
                client.setSoTimeout(30_000);
                Future<byte[]> upload = pool.submit(() -> send(client, size, round));
                Thread.sleep(200); // backpressure: the client is held back while the endpoint reads nothing
                Future<byte[]> answer = pool.submit(() -> send(endpoint, size, round + 100));
                Future<byte[]> answered = pool.submit(() -> receive(client, size));
                byte[] received = receiveSlowly(endpoint, size);
                assertThat(received).as("round %d: upload", round).isEqualTo(upload.get(30, TimeUnit.SECONDS));
                assertThat(answered.get(30, TimeUnit.SECONDS)).as("round %d: answer", round)
                        .isEqualTo(answer.get(30, TimeUnit.SECONDS));
            }
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> fixture.server().listeners().connectionCount() == 0);
    }

    /**
     * The endpoint connection comes up only after the client sent its request and its FIN: svcproxy's SYN waits in
     * the endpoint's full accept queue until the test empties it, and is retried a second later. The endpoint
     * must still get the request, then the FIN, and its answer must reach the client.
     */
    @Test
    void aClientFinBeforeTheEndpointConnectionIsUpIsPassedOnAfterItsBytes() throws Exception {
        java.util.List<Socket> fillers = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) { // backlog 1: the queue holds two, a third SYN is dropped
                Socket filler = new Socket();
                try {
                    filler.connect(late.getLocalSocketAddress(), 300);
                } catch (java.net.SocketTimeoutException full) {
                    // the queue is full already
                }
                fillers.add(filler);
            }
            try (Socket client = Net.connect(VIP, PORT + 1)) {
                client.setSoTimeout(30_000);
                Net.write(client, "request sent before the endpoint answered the SYN");
                client.shutdownOutput();
                Thread.sleep(300); // svcproxy has read the request and the FIN, and still connects
                for (Socket filler : fillers) { // empty the queue: accept and close what the fillers made
                    filler.close();
                }
                late.setSoTimeout(500);
                Socket endpoint = null;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                while (endpoint == null && System.nanoTime() < deadline) {
                    Socket accepted;
                    try {
                        accepted = late.accept();
                    } catch (java.net.SocketTimeoutException notYet) {
                        continue; // svcproxy's SYN is retried after 1 s, then 3 s
                    }
                    accepted.setSoTimeout(10_000);
                    // the fillers' connections end at once (they were closed); svcproxy's carries the request
                    byte[] first = accepted.getInputStream().readNBytes(7);
                    if (first.length == 7) {
                        endpoint = accepted;
                        String rest = new String(Net.readAll(accepted), java.nio.charset.StandardCharsets.UTF_8);
                        assertThat(new String(first, java.nio.charset.StandardCharsets.UTF_8) + rest)
                                .isEqualTo("request sent before the endpoint answered the SYN");
                    } else {
                        accepted.close();
                    }
                }
                assertThat(endpoint).as("svcproxy's connection to the endpoint").isNotNull();
                Net.write(endpoint, "answer");
                endpoint.shutdownOutput();
                assertThat(Net.readAllText(client)).isEqualTo("answer");
                endpoint.close();
            }
        } finally {
            for (Socket filler : fillers) {
                filler.close();
            }
        }
    }

    /**
     * The first report: 64 MiB through an echo endpoint, both ways at once, the client half-closing;
     * {@code -Drelay.echoRuns=N} repeats it (3 by default).
     */
    @Test
    @Timeout(value = 30, unit = TimeUnit.MINUTES)
    void sixtyFourMebibytesEchoedWithHalfCloseArriveWhole() throws Exception {
        int runs = Integer.getInteger("relay.echoRuns", 3);
        int size = 64 << 20;
        for (int r = 0; r < runs; r++) {
            int run = r;
            try (Socket client = Net.connect(VIP, PORT); Socket endpoint = endpoints.accept()) {
                client.setSoTimeout(60_000);
                endpoint.setSoTimeout(60_000);
                Future<?> echo = pool.submit(() -> echo(endpoint));
                Future<byte[]> sent = pool.submit(() -> send(client, size, run));
                byte[] received = receive(client, size);
                assertThat(received).as("run %d of %d", run + 1, runs).isEqualTo(sent.get(60, TimeUnit.SECONDS));
                echo.get(60, TimeUnit.SECONDS);
            }
        }
    }

    /** Writes {@code size} seeded random bytes in random chunks, then FIN; returns their SHA-256. */
    static byte[] send(Socket socket, int size, long seed) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        Random random = new Random(seed);
        OutputStream out = socket.getOutputStream();
        byte[] chunk = new byte[256 << 10];
        for (int written = 0; written < size; ) {
            int n = Math.min(size - written, 1 + random.nextInt(chunk.length));
            random.nextBytes(chunk);
            out.write(chunk, 0, n);
            digest.update(chunk, 0, n);
            written += n;
        }
        socket.shutdownOutput();
        return digest.digest();
    }

    /** Reads to the end of stream; returns the SHA-256 of what came, failing if that is not {@code size} bytes. */
    static byte[] receive(Socket socket, int size) throws Exception {
        return receive(socket, size, 0);
    }

    private static byte[] receiveSlowly(Socket socket, int size) throws Exception {
        return receive(socket, size, 5);
    }

    private static byte[] receive(Socket socket, int size, int pauseEveryMiB) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        InputStream in = socket.getInputStream();
        byte[] buffer = new byte[64 << 10];
        long total = 0;
        long nextPause = 1 << 20;
        int n;
        while ((n = in.read(buffer)) >= 0) {
            digest.update(buffer, 0, n);
            total += n;
            if (pauseEveryMiB > 0 && total >= nextPause) {
                Thread.sleep(pauseEveryMiB);
                nextPause += 1 << 20;
            }
        }
        assertThat(total).as("bytes before the end of stream").isEqualTo(size);
        return digest.digest();
    }

    private static Void echo(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        byte[] buffer = new byte[64 << 10];
        int n;
        while ((n = in.read(buffer)) >= 0) {
            out.write(buffer, 0, n);
        }
        socket.shutdownOutput();
        return null;
    }
}
