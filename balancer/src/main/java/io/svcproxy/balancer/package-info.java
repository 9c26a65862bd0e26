/**
 * Scheduling: the IPVS schedulers, the endpoint set with its connection counters, and ClientIP session
 * affinity. The "decisions" step of the arrow, between the desired state ({@code io.svcproxy.config}) and the
 * data plane ({@code io.svcproxy.proxy.dataplane}). Pure Java: no Netty, Micrometer, YAML or I/O.
 * Picks are made on any Netty event loop at once; every type here is safe for that.
 */
package io.svcproxy.balancer;
