/**
 * The Ingress in the running proxy: binds the {@code proxy.ingress} listeners of the {@code ingress} module on the
 * data plane's event loops, compiles each desired state's Ingresses into a new routing table (published with one
 * volatile write), resolves backends to the Service ports in force ({@code ServiceTableBackendLookup}), and counts
 * requests per rule for the metrics and {@code /api/v1/ingresses}. Apply and close run on the control-plane thread;
 * {@link io.svcproxy.proxy.ingress.IngressStats} is called on event loops.
 */
package io.svcproxy.proxy.ingress;
