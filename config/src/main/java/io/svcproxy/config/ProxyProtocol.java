package io.svcproxy.config;

/**
 * The PROXY protocol version a Service port sends to its endpoints (HAProxy's spec): {@code v1}, the text line,
 * TCP only; {@code v2}, the binary header.
 */
public enum ProxyProtocol {
    V1, V2;

    /** Returns the config name: {@code v1} or {@code v2}. */
    public String configName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
