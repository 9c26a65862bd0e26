package io.svcproxy.config;

/** A Service port's protocol. TCP and UDP are proxied; SCTP is parsed and rejected with a clear error. */
public enum Protocol {
    TCP, UDP, SCTP
}
