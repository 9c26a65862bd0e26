package io.svcproxy.config;

/** A Service port's protocol. Only TCP is proxied; UDP and SCTP are parsed and rejected with a clear error. */
public enum Protocol {
    TCP, UDP, SCTP
}
