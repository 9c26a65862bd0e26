package io.svcproxy.proxy.cli;

import io.svcproxy.proxy.ProxyServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * Installs the process's signal handlers: SIGTERM and SIGINT stop gracefully (drain, then exit 0), SIGHUP
 * reloads the config. Handlers run on the JVM's signal thread and hand the work to a thread of their own.
 */
final class Signals {
    private static final Logger log = LoggerFactory.getLogger(Signals.class);

    private Signals() {
    }

    static void install(ProxyServer server) {
        Signal.handle(new Signal("TERM"), s -> stop(server, "SIGTERM"));
        Signal.handle(new Signal("INT"), s -> stop(server, "SIGINT"));
        try {
            Signal.handle(new Signal("HUP"), s -> {
                log.info("Received SIGHUP: reloading");
                Thread reload = new Thread(server::reloadFromFile, "svcproxy-sighup");
                reload.setDaemon(true);
                reload.start();
            });
        } catch (IllegalArgumentException e) {
            log.debug("SIGHUP is not available here: {}", e.getMessage());
        }
    }

    private static void stop(ProxyServer server, String signal) {
        log.info("Received {}: shutting down", signal);
        Thread stop = new Thread(server::shutdown, "svcproxy-shutdown");
        stop.start();
    }
}
