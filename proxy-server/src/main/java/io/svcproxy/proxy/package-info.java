/**
 * Wiring: {@link io.svcproxy.proxy.ProxyServer} puts the config, the reconciler, the data plane, the metrics
 * and the admin server together, and {@link io.svcproxy.proxy.Main} is the command line's entry point. Holds no
 * logic of its own; runs on the main thread and the signal handlers' threads.
 */
package io.svcproxy.proxy;
