/**
 * Helpers of the schedulers in {@code io.svcproxy.balancer}: the kernel's hash functions ({@code hash_32},
 * {@code hsiphash}), the address fold of the IPVS hashing schedulers, the gcd, the weighted round-robin
 * stepping of {@code ip_vs_wrr.c} and the Maglev table of {@code ip_vs_mh.c}.
 * Not a public API: only the balancer module uses it. Pure functions and small single-threaded state; the
 * scheduler that owns a piece of state makes it safe for several event loops.
 */
package io.svcproxy.balancer.internal;
